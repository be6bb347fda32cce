module github.com/aegisgo/aegis/bench/httpbench

go 1.26.0
