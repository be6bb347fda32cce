module github.com/aegisgo/aegis/template/bench/registry

go 1.26.0

require (
	github.com/aegisgo/aegis v0.0.0
	github.com/samber/do/v2 v2.0.0
	go.uber.org/dig v1.19.0
)

require github.com/samber/go-type-to-string v1.8.0 // indirect

replace github.com/aegisgo/aegis => ../..
