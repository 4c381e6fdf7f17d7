module github.com/tokenmeter/tokenmeter

go 1.26.8
