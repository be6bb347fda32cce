// Package registrybench compares the Aegis service registry with samber/do and uber/dig.
// It is its own module so those libraries never enter the app's dependencies; its path sits
// under template/ so that Go's internal-package rule lets it import the registry. Nothing may
// import it. Run from this directory:
//
//	go test -run '^$' -bench . -benchmem -count=3
//
// graph_gen_test.go is generated: go generate (see gen.go).
package registrybench

//go:generate go run gen.go
