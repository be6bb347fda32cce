// Package config loads the app's settings from environment variables (and a
// .env file) and keeps the list of every setting the app's parts declare.
//
// Each component declares a struct whose fields carry `env`, `envDefault` and
// `doc` tags, contributes its Declaration from init() (so `.env.example` and
// the docs can list it) and provides it with Loader, so its constructors take
// the parsed settings as a dependency:
//
//	type Settings struct {
//		Port int `env:"PORT" envDefault:"8000" doc:"TCP port the HTTP server listens on."`
//	}
//
//	func init() {
//		_ = config.Provide[Settings](registry.Default, "backend")
//	}
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/caarlos0/env/v11"
	"github.com/joho/godotenv"
)

// DotEnvFile is the file Load reads once, from the working directory, before
// the first parse. Variables already set in the environment win over it, so a
// deployment never has its real configuration replaced by a stray file.
const DotEnvFile = ".env"

// dotEnvLoader remembers the one read of .env; a type so tests can start over.
type dotEnvLoader struct {
	once sync.Once
	err  error
}

var dotEnv = &dotEnvLoader{}

// loadDotEnv reads DotEnvFile into the process environment the first time it
// is called and returns the same result on every later call.
func loadDotEnv() error {
	dotEnv.once.Do(func() {
		err := godotenv.Load(DotEnvFile)
		switch {
		case err == nil, errors.Is(err, fs.ErrNotExist):
			// A missing .env is the normal case in production.
		default:
			dotEnv.err = dotEnvError(DotEnvFile, err)
		}
	})
	return dotEnv.err
}

// DotEnvError is a .env file that does not parse. Its message names the file and the line,
// never a value: godotenv's own errors quote the value of an unclosed quote, or the whole rest
// of the file, and .env holds the secrets.
type DotEnvError struct {
	File   string
	Line   int
	Reason string
	Err    error // godotenv's error; never printed
}

func (e *DotEnvError) Error() string {
	return fmt.Sprintf("config: %s line %d: %s; fix the line or delete the file", e.File, e.Line, e.Reason)
}

func (e *DotEnvError) Unwrap() error { return e.Err }

// unexpectedChar matches godotenv's error for a bad character in a name: the character is
// kept (it is part of a name, and says what to fix), the text after it is not.
var unexpectedChar = regexp.MustCompile(`^unexpected character ("(?:[^"\\]|\\.)*") in variable name`)

// dotEnvError explains err, godotenv's failure to load file. A parse error becomes a
// *DotEnvError; any other (the file cannot be read, a variable cannot be set) is wrapped as is.
func dotEnvError(file string, err error) error {
	content, readErr := os.ReadFile(file)
	if readErr != nil {
		return fmt.Errorf("config: read %s: %w", file, readErr)
	}
	if _, parseErr := godotenv.UnmarshalBytes(content); parseErr == nil {
		return fmt.Errorf("config: load %s: %w", file, err)
	}
	// godotenv does not say where it stopped. Parsing is done statement by statement from
	// the top, so every prefix of whole lines that ends at or after the bad statement fails
	// and the one just before it parses: the longest prefix that parses ends the line before.
	lines := strings.SplitAfter(strings.ReplaceAll(string(content), "\r\n", "\n"), "\n")
	line := 1
	for k := len(lines) - 1; k > 0; k-- {
		if _, err := godotenv.Unmarshal(strings.Join(lines[:k], "")); err == nil {
			line = k + 1
			break
		}
	}
	reason := "cannot be parsed"
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "unterminated quoted value"):
		reason = "a quoted value is never closed"
		if name := dotEnvName(lines[line-1]); name != "" {
			reason = "the value of " + name + " opens a quote that is never closed"
		}
	case unexpectedChar.MatchString(msg):
		c, _ := strconv.Unquote(unexpectedChar.FindStringSubmatch(msg)[1])
		if c == "\n" {
			reason = `no "=" after the variable name`
		} else {
			reason = fmt.Sprintf("%q is not allowed in a variable name (use letters, digits, _ and .)", c)
		}
	}
	return &DotEnvError{File: file, Line: line, Reason: reason, Err: err}
}

// dotEnvName returns the variable a .env line sets, or "" when the line does not start with
// a valid name followed by = or :.
func dotEnvName(line string) string {
	line = strings.TrimSpace(line)
	if rest, ok := strings.CutPrefix(line, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
		line = strings.TrimSpace(rest)
	}
	i := strings.IndexAny(line, "=:")
	if i <= 0 {
		return ""
	}
	name := strings.TrimSpace(line[:i])
	for _, c := range name {
		if !(c == '_' || c == '.' || unicode.IsLetter(c) || unicode.IsDigit(c)) {
			return ""
		}
	}
	return name
}

// Validator is implemented by settings structs that check their values after
// parsing. Errors should be built with Invalid, OneOf or the range checks
// (Positive, AtLeast, NotNegative, InRange) so they name the variable and say
// how to fix it.
type Validator interface {
	Validate() error
}

// Load returns T filled from the environment: .env is loaded once (without
// overriding variables that are already set), then every `env` field of T is
// parsed, falling back to its `envDefault`. If T (or *T) implements Validator,
// Validate runs last. Errors name the variable and say how to fix it; several
// problems are joined with errors.Join.
func Load[T any]() (T, error) {
	var zero T
	if err := loadDotEnv(); err != nil {
		return zero, err
	}
	if t := reflect.TypeFor[T](); t.Kind() != reflect.Struct {
		return zero, fmt.Errorf("config: load %v: settings must be a struct type", t)
	}
	v, err := env.ParseAs[T]()
	if err != nil {
		return zero, explain[T](err)
	}
	if err := validate(&v); err != nil {
		return zero, asTyped[T](err)
	}
	return v, nil
}

// asTyped puts in each *Error of err about one of T's variables the value as it was set,
// instead of the parsed value that Validate quotes: "-1m", not "-1m0s". The user looks for
// what they typed. A variable that is not set (or empty) keeps the quoted value, its default.
func asTyped[T any](err error) error {
	keys := make(map[string]bool)
	for _, f := range fieldsOf(reflect.TypeFor[T](), "") {
		keys[f.key] = true
	}
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case *Error:
			if raw := os.Getenv(e.Var); raw != "" && keys[e.Var] && !e.Secret {
				e.Value = raw
			}
		case interface{ Unwrap() []error }:
			for _, err := range e.Unwrap() {
				walk(err)
			}
		}
	}
	walk(err)
	return err
}

func validate(p any) error {
	if val, ok := p.(Validator); ok {
		return val.Validate()
	}
	if val, ok := reflect.ValueOf(p).Elem().Interface().(Validator); ok {
		return val.Validate()
	}
	return nil
}

// explain turns the env library's errors, which name Go struct fields, into
// errors that name the environment variable and the fix.
func explain[T any](err error) error {
	fields := fieldsOf(reflect.TypeFor[T](), "")
	byField := make(map[string]field, len(fields))
	for _, f := range fields {
		if _, dup := byField[f.goName]; !dup {
			byField[f.goName] = f
		}
	}

	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return fmt.Errorf("config: %w", err)
	}
	var errs []error
	for _, e := range agg.Errors {
		var (
			parseErr env.ParseError
			notSet   env.VarIsNotSetError
			empty    env.EmptyVarError
		)
		switch {
		case errors.As(e, &parseErr):
			f, ok := byField[parseErr.Name]
			if !ok {
				errs = append(errs, fmt.Errorf("config: field %s: %w", parseErr.Name, parseErr.Err))
				continue
			}
			errs = append(errs, &Error{
				Var:    f.key,
				Value:  os.Getenv(f.key),
				Reason: "is not " + describeType(parseErr.Type),
				Fix:    fixFor(f, parseErr.Type),
				Err:    parseErr.Err,
			})
		case errors.As(e, &notSet):
			errs = append(errs, &Error{Var: notSet.Key, Reason: "is required but not set", Fix: "set it in the environment or in " + DotEnvFile, Err: e})
		case errors.As(e, &empty):
			errs = append(errs, &Error{Var: empty.Key, Reason: "must not be empty", Fix: "give it a value in the environment or in " + DotEnvFile, Err: e})
		default:
			errs = append(errs, fmt.Errorf("config: %w", e))
		}
	}
	return errors.Join(errs...)
}

func describeType(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.PkgPath() == "time" && t.Name() == "Duration" {
		return "a valid duration"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a valid boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a valid whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a valid non-negative whole number"
	case reflect.Float32, reflect.Float64:
		return "a valid number"
	default:
		return "a valid " + t.String()
	}
}

func fixFor(f field, t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var want string
	switch {
	case t.PkgPath() == "time" && t.Name() == "Duration":
		want = "a duration such as 500ms, 5s or 1m30s"
	case t.Kind() == reflect.Bool:
		want = "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		want = "a whole number such as 42"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		want = "a number such as 0.5"
	default:
		want = "a valid value"
	}
	fix := "set " + f.key + " to " + want
	if f.hasDefault {
		fix += fmt.Sprintf(", or unset it to use the default %q", f.def)
	}
	return fix
}
