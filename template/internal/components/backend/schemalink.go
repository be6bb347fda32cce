package backend

import (
	"reflect"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// schemaBase stands in for the host in huma's $schema URLs. huma takes the
// host from X-Forwarded-Host, Forwarded or Host, all of them written by the
// client, so anyone could make responses link to a host of theirs. The
// transformer below hands huma this marker as the host and swaps it for
// BASE_URL (or nothing, for a relative link) in the result. It contains
// "://", so huma adds no scheme in front of it.
const schemaBase = "aegis-base-url://"

// schemaLinks replaces huma's default create hook: the same Link header and
// $schema field, with the URL built from baseURL rather than the request.
func schemaLinks(baseURL string) func(huma.Config) huma.Config {
	base := strings.TrimSuffix(baseURL, "/")
	return func(c huma.Config) huma.Config {
		lt := huma.NewSchemaLinkTransformer("#/components/schemas/", c.SchemasPath)
		c.OnAddOperation = append(c.OnAddOperation, lt.OnAddOperation)
		c.Transformers = append(c.Transformers, func(ctx huma.Context, status string, v any) (any, error) {
			// The wrapper lives in the request context's allocation when there is one
			// (a fixedHost value in an interface would be one more per response).
			var hidden huma.Context
			if rc := requestContextOf(ctx.Context()); rc != nil {
				rc.host = fixedHost{ctx}
				hidden = &rc.host
			} else {
				hidden = fixedHost{ctx}
			}
			out, err := lt.Transform(hidden, status, v)
			if err != nil || out == v {
				return out, err
			}
			// huma returns a pointer to a copy of v's struct with $schema as
			// its first field.
			rv := reflect.ValueOf(out)
			if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct || rv.Elem().NumField() == 0 {
				return out, nil
			}
			f := rv.Elem().Field(0)
			if f.Kind() == reflect.String && f.CanSet() {
				if ref, ok := strings.CutPrefix(f.String(), schemaBase); ok {
					f.SetString(base + ref)
				}
			}
			return out, nil
		})
		return c
	}
}

// fixedHost hides the client's idea of the host from huma's transformer.
type fixedHost struct{ humaContext }

// humaContext is huma.Context under another name: embedded as itself, the
// field would be called Context and hide the interface's Context method.
type humaContext = huma.Context

// Unwrap lets adapters reach the request under the wrapper.
func (c fixedHost) Unwrap() huma.Context { return c.humaContext }

func (c fixedHost) Header(name string) string {
	switch {
	case strings.EqualFold(name, "x-forwarded-host"):
		return schemaBase
	case strings.EqualFold(name, "forwarded"):
		return ""
	}
	return c.humaContext.Header(name)
}

func (c fixedHost) Host() string { return schemaBase }
