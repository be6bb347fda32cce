package backend

import (
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"

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
		links := &schemaLinkCache{lt: lt, base: base}
		c.Transformers = append(c.Transformers, links.transform)
		return c
	}
}

// schemaLinkCache is the $schema transformer. huma's (lt) decides, for a response of a Go
// type from an operation, whether it gets a link and which, and builds the copy of the body
// with $schema first, the link's URL built anew at every response (a buffer, a string, the
// host looked up in the headers, here always the same marker, then swapped by this
// transformer: ~0.4 µs of a ping's 2.5 in process). What it decides depends on the type and
// the operation only, the host being fixed: the first response of each pair goes through
// huma and its outcome is kept (transformSlow), the others are built from it (two
// allocations fewer: the URL and the Link header's slice).
type schemaLinkCache struct {
	lt   *huma.SchemaLinkTransformer
	base string // BASE_URL without its trailing slash, or ""

	mu      sync.Mutex                                         // serialises additions
	entries atomic.Pointer[map[schemaLinkKey]*schemaLinkEntry] // copied on addition: read without a lock
}

type schemaLinkKey struct {
	t  reflect.Type // the response value's type, as given to the transformer
	op *huma.Operation
}

// schemaLinkEntry is huma's outcome for a key: none (linked false), or the type of the copy,
// its $schema value, the Link header and which fields of the response's struct go where.
type schemaLinkEntry struct {
	linked bool
	t      reflect.Type // the copy's struct type: $schema, then fields' values in order
	schema string       // the $schema field's value, BASE_URL in place of the marker
	link   []string     // the Link header's value, shared: len 1, cap 1, so an append copies
	fields []int        // the response struct's exported fields, copied to fields 1...
}

func (c *schemaLinkCache) transform(ctx huma.Context, status string, v any) (any, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && rv.IsNil() {
		return v, nil // huma's answer to any nil pointer
	}
	key := schemaLinkKey{t: rv.Type(), op: ctx.Operation()}
	var e *schemaLinkEntry
	if m := c.entries.Load(); m != nil {
		e = (*m)[key]
	}
	if e == nil {
		return c.transformSlow(ctx, status, v, key)
	}
	if !e.linked {
		return v, nil
	}
	addLink(ctx, e.link)
	out := reflect.New(e.t).Elem()
	out.Field(0).SetString(e.schema)
	src := reflect.Indirect(rv)
	for i, j := range e.fields {
		out.Field(i + 1).Set(src.Field(j))
	}
	return out.Addr().Interface(), nil
}

// transformSlow runs huma's transformer on ctx with the host hidden, BASE_URL in place of
// the marker in the result, and keeps the outcome for key.
func (c *schemaLinkCache) transformSlow(ctx huma.Context, status string, v any, key schemaLinkKey) (any, error) {
	hidden := &linkRecorder{fixedHost: fixedHost{ctx}}
	out, err := c.lt.Transform(hidden, status, v)
	if err != nil {
		return out, err
	}
	// huma adds a Link header exactly when it returns a copy: a pointer to a struct whose
	// first field is $schema and the others the response's exported fields, in order.
	if !hidden.linked {
		c.add(key, &schemaLinkEntry{})
		return out, nil
	}
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct || rv.Elem().NumField() == 0 {
		return out, nil
	}
	f := rv.Elem().Field(0)
	if f.Kind() != reflect.String || !f.CanSet() {
		return out, nil
	}
	ref, ok := strings.CutPrefix(f.String(), schemaBase)
	if !ok {
		return out, nil // not huma's usual copy: left as it is, and to huma next time
	}
	f.SetString(c.base + ref)
	src := reflect.TypeOf(v)
	for src.Kind() == reflect.Pointer {
		src = src.Elem()
	}
	var fields []int
	for i := range src.NumField() {
		if src.Field(i).IsExported() {
			fields = append(fields, i)
		}
	}
	if len(fields) != rv.Elem().NumField()-1 || len(hidden.links) != 1 {
		return out, nil // not the copy described above: huma's work at each response
	}
	c.add(key, &schemaLinkEntry{linked: true, t: rv.Elem().Type(), schema: f.String(),
		link: hidden.links[:1:1], fields: fields})
	return out, nil
}

func (c *schemaLinkCache) add(key schemaLinkKey, e *schemaLinkEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var m map[schemaLinkKey]*schemaLinkEntry
	if old := c.entries.Load(); old != nil {
		if _, ok := (*old)[key]; ok {
			return
		}
		m = make(map[schemaLinkKey]*schemaLinkEntry, len(*old)+1)
		for k, v := range *old {
			m[k] = v
		}
	} else {
		m = make(map[schemaLinkKey]*schemaLinkEntry, 1)
	}
	m[key] = e
	c.entries.Store(&m)
}

// addLink appends the Link header as huma's AppendHeader does; on the adapter's own context
// (humachi's, under any wrappers) the shared slice goes in the header map when there is no
// Link yet, rather than a new slice per response.
func addLink(ctx huma.Context, link []string) {
	inner := ctx
	for {
		u, ok := inner.(interface{ Unwrap() huma.Context })
		if !ok {
			break
		}
		inner = u.Unwrap()
	}
	if rw, ok := inner.(interface {
		Unwrap() (*http.Request, http.ResponseWriter)
	}); ok {
		if _, w := rw.Unwrap(); w != nil {
			h := w.Header()
			if old := h["Link"]; len(old) == 0 {
				h["Link"] = link
			} else {
				h["Link"] = append(old, link[0])
			}
			return
		}
	}
	ctx.AppendHeader("Link", link[0])
}

// linkRecorder is fixedHost noting the Link headers huma adds.
type linkRecorder struct {
	fixedHost
	linked bool
	links  []string
}

func (c *linkRecorder) AppendHeader(name, value string) {
	if strings.EqualFold(name, "Link") {
		c.linked = true
		c.links = append(c.links, value)
	}
	c.fixedHost.AppendHeader(name, value)
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
