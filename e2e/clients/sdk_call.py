"""Make one call with an official provider SDK and print what the caller saw.

The e2e tests run this with the project's .venv Python to prove that real
clients, with their own SSE parsing and error mapping, work through Envoy
with tokenmeter: a good answer arrives whole, and an error hidden inside an
HTTP 200 surfaces as the SDK's usual exception for the mapped status.

Prints one JSON object: {"ok": true, "text": ..., "usage": {...}} or
{"ok": false, "error_class": ..., "status": ..., "classes": [...]}.
"""

import argparse
import json
import sys

PROMPT = "Say hello in three languages."


def call_openai(args, headers):
    import openai

    client = openai.OpenAI(base_url=args.base_url + "/v1", api_key="e2e", max_retries=0,
                           default_headers=headers, timeout=30)
    if args.api == "responses":
        if args.stream:
            text, usage = "", None
            for ev in client.responses.create(model=args.model, input=PROMPT, stream=True):
                if ev.type == "response.output_text.delta":
                    text += ev.delta
                elif ev.type == "response.completed":
                    usage = ev.response.usage.model_dump()
            return text, usage
        r = client.responses.create(model=args.model, input=PROMPT)
        return r.output_text, r.usage.model_dump()
    messages = [{"role": "user", "content": PROMPT}]
    if args.stream:
        text, usage = "", None
        # Without stream_options the SDK sends none: the stream a client gets
        # when it does not ask for usage.
        extra = {} if args.no_include_usage else {"stream_options": {"include_usage": True}}
        stream = client.chat.completions.create(model=args.model, messages=messages, stream=True,
                                                **extra)
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
            if chunk.usage:
                usage = chunk.usage.model_dump()
        return text, usage
    r = client.chat.completions.create(model=args.model, messages=messages)
    return r.choices[0].message.content, r.usage.model_dump()


def call_anthropic(args, headers):
    import anthropic

    client = anthropic.Anthropic(base_url=args.base_url, api_key="e2e", max_retries=0,
                                 default_headers=headers, timeout=30)
    messages = [{"role": "user", "content": PROMPT}]
    if args.stream:
        with client.messages.stream(model=args.model, max_tokens=256, messages=messages) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        return text, final.usage.model_dump()
    r = client.messages.create(model=args.model, max_tokens=256, messages=messages)
    return "".join(b.text for b in r.content if b.type == "text"), r.usage.model_dump()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sdk", choices=["openai", "anthropic"], required=True)
    p.add_argument("--api", default="")
    p.add_argument("--base-url", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--stream", action="store_true")
    p.add_argument("--no-include-usage", action="store_true",
                   help="openai chat stream: leave stream_options out (no usage asked for)")
    p.add_argument("--header", action="append", default=[], help="name=value, repeatable")
    args = p.parse_args()
    headers = dict(h.split("=", 1) for h in args.header)
    try:
        text, usage = (call_openai if args.sdk == "openai" else call_anthropic)(args, headers)
        out = {"ok": True, "text": text, "usage": usage}
    except Exception as e:  # the test asserts on exactly which error the SDK raised
        out = {"ok": False, "error_class": type(e).__name__,
               "status": getattr(e, "status_code", None),
               "classes": [c.__name__ for c in type(e).__mro__],
               "message": str(e)[:300]}
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
