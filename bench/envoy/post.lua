-- wrk script: every request is the streaming Chat Completions call that
-- tmbench's upstream answers with the generated OpenAI stream.
wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Host"] = "api.openai.com"
wrk.body = '{"model":"gpt-4.1-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Tell me a long story."}]}'
