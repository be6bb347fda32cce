package generate

//go:generate go run ./modgen
