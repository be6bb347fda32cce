package backend

import (
	"encoding/json"
	"errors"
	"maps"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/aegisgo/aegis/template/internal/runtime/jsonkind"
)

// jsonFormats are the API's formats with request bodies read by unmarshalBody
// instead of json.Unmarshal. huma.DefaultConfig hands out its package-level map,
// so it is copied, never changed.
func jsonFormats(formats map[string]huma.Format) map[string]huma.Format {
	out := maps.Clone(formats)
	for _, name := range []string{"application/json", "json"} {
		if f, ok := out[name]; ok {
			f.Unmarshal = unmarshalBody
			out[name] = f
		}
	}
	return out
}

// unmarshalBody is json.Unmarshal with its errors worded for the client. huma
// puts the error's text in the problem as it is, and encoding/json's names the
// Go struct and type ("cannot unmarshal number 300 into Go struct field
// ChatBody.count of type uint8"); huma's schema validation runs first but does
// not know a Go field's range, so every integer field can surface one.
func unmarshalBody(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err != nil {
		return bodyJSONError(data, err)
	}
	// encoding/json keeps the last of two equal keys ({"email":"a","email":"b"}
	// registers b), while a proxy, a WAF or a log reader in front may have
	// checked the first: a body read one way here and another way there is
	// refused instead.
	if at, dup := duplicateKey(data); dup {
		return &bodyError{at, "is given more than once; send each property once"}
	}
	// encoding/json turns each byte of a string that is not UTF-8 into U+FFFD without a
	// word: a prompt, a name or a password in Latin-1 would be stored and used as other
	// text than the client sent. JSON is UTF-8 (RFC 8259), so such a body is refused,
	// naming the field. utf8.Valid is one pass over the bytes, 8 at a time while they are
	// ASCII (every JSON body, twice: huma decodes a copy to validate first).
	if !utf8.Valid(data) {
		return invalidUTF8(data)
	}
	return nil
}

// invalidUTF8 is the error of a body that decoded but holds bytes that are not UTF-8: the
// location of the first string (a value, or a property's name) holding them. Only a refused
// body is walked.
func invalidUTF8(data []byte) error {
	e := &bodyError{"body", "must be valid UTF-8; send the text encoded as UTF-8"}
	walkJSON(data, func(w *jsonWalk, _ json.Token, key bool, before, after int64) bool {
		if utf8.Valid(data[before:after]) {
			return true
		}
		e.at = w.path()
		if key {
			e.msg = "the property's name must be valid UTF-8; send the text encoded as UTF-8"
		}
		return false
	})
	return e
}

// duplicateKey finds the first object key repeated in the same object of data,
// which json.Unmarshal accepted, and returns its location. Every JSON body passes
// here (twice: huma validates a decoded copy first), so the look is a scan of the
// bytes that allocates nothing for ordinary bodies; only a body with a repeat is
// decoded again, token by token, to name where.
func duplicateKey(data []byte) (string, bool) {
	if !hasDuplicateKey(data) {
		return "", false
	}
	return duplicateKeyAt(data)
}

// duplicateKeyAt is duplicateKey's slow way: a walk of data's tokens.
func duplicateKeyAt(data []byte) (at string, dup bool) {
	walkJSON(data, func(w *jsonWalk, _ json.Token, key bool, _, _ int64) bool {
		if !key {
			return true
		}
		f := w.top()
		if f.keys == nil {
			f.keys = make(map[string]struct{})
		}
		if _, seen := f.keys[f.key]; seen {
			at, dup = w.path(), true
			return false
		}
		f.keys[f.key] = struct{}{}
		return true
	})
	return at, dup
}

// jsonWalk is where walkJSON is in a document: the objects and arrays it is in.
type jsonWalk struct{ stack []walkFrame }

type walkFrame struct {
	array bool
	index int
	key   string
	keyed bool                // in an object, the next token is a value, not a key
	keys  map[string]struct{} // the object's keys so far, for duplicateKeyAt
}

func (w *jsonWalk) top() *walkFrame { return &w.stack[len(w.stack)-1] }

// path is the location, in huma's syntax, of the token being visited.
func (w *jsonWalk) path() string {
	var b strings.Builder
	b.WriteString("body")
	for _, f := range w.stack {
		switch {
		case f.array:
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		case f.keyed:
			b.WriteString(locationKey(f.key))
		}
	}
	return b.String()
}

// walkJSON calls visit for each token of data but closing delimiters, with the walk (for its
// path), whether the token is an object's key and the token's input offsets, until visit
// returns false or the tokens end (or fail to decode).
func walkJSON(data []byte, visit func(w *jsonWalk, tok json.Token, key bool, before, after int64) bool) {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	w := &jsonWalk{}
	// after a value inside the top frame: the next one is a new element or key.
	next := func() {
		if n := len(w.stack); n > 0 {
			if w.stack[n-1].array {
				w.stack[n-1].index++
			} else {
				w.stack[n-1].keyed = false
			}
		}
	}
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return
		}
		after := dec.InputOffset()
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if !visit(w, tok, false, before, after) {
					return
				}
				w.stack = append(w.stack, walkFrame{array: t == '['})
			default:
				w.stack = w.stack[:len(w.stack)-1]
				next()
			}
		default:
			if n := len(w.stack); n > 0 && !w.stack[n-1].array && !w.stack[n-1].keyed {
				w.stack[n-1].key, _ = t.(string)
				w.stack[n-1].keyed = true
				if !visit(w, tok, true, before, after) {
					return
				}
				continue
			}
			if !visit(w, tok, false, before, after) {
				return
			}
			next()
		}
	}
}

// bodyError is a body that JSON could not decode: at is where (huma's location
// syntax, "body.items[2].qty"), msg what is wrong. Its text is "at: msg";
// problemToSend splits it back into an errors[] entry's location and message.
type bodyError struct{ at, msg string }

func (e *bodyError) Error() string { return e.at + ": " + e.msg }

// bodyJSONError words err, from decoding data, for the client.
func bodyJSONError(data []byte, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		if strings.Contains(syntax.Error(), "after top-level value") {
			return &bodyError{"body", "there is more after the JSON value (at byte " + strconv.FormatInt(syntax.Offset, 10) + "); send a single JSON value"}
		}
		if strings.HasPrefix(syntax.Error(), "unexpected end") {
			return &bodyError{"body", "the JSON ends before it is complete; send the whole body"}
		}
		return &bodyError{"body", "the JSON is malformed at byte " + strconv.FormatInt(syntax.Offset, 10) + " (" + syntax.Error() + ")"}
	case errors.As(err, &typ) && typ.Type != nil:
		return &bodyError{valueAt(data, typ.Offset), typeMessage(typ)}
	}
	return err
}

// typeMessage says why a JSON value does not fit its field, in JSON's terms.
func typeMessage(e *json.UnmarshalTypeError) string {
	num, isNum := strings.CutPrefix(e.Value, "number ")
	if !isNum || !jsonkind.Number(e.Type) {
		return "must be " + jsonkind.Want(e.Type) + ", not " + jsonkind.Got(e.Value)
	}
	shown := num
	if len(shown) > maxEchoedValue {
		shown = shown[:maxEchoedValue] + "…"
	}
	if f, err := strconv.ParseFloat(num, 64); err == nil && f != math.Trunc(f) && isInteger(e.Type) {
		return shown + " must be a whole number"
	}
	return shown + " is out of range for this field"
}

func isInteger(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

// valueAt is the location, in huma's syntax, of the JSON value in data that
// ends at byte end (or, for an object or array, starts just before it):
// encoding/json reports the path of a bad value without array indexes or map
// keys' dots ("items.qty"), so the path is found again by walking the tokens.
func valueAt(data []byte, end int64) string {
	at := "body"
	walkJSON(data, func(w *jsonWalk, tok json.Token, key bool, before, after int64) bool {
		switch {
		case key:
			return true
		case tok == json.Delim('{') || tok == json.Delim('['):
			// encoding/json reports a mismatched object or array just past its opening
			// delimiter.
			if after != end && before != end {
				return true
			}
		case after != end:
			return true
		}
		at = w.path()
		return false
	})
	return at
}

// locationKey is an object key as a location step: ".name", or for a key
// that is not a plain name, ["quoted"] (clipped), so that a location is one
// line and splitBodyError can find where it ends.
func locationKey(k string) string {
	plain := k != ""
	for _, r := range k {
		if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			plain = false
			break
		}
	}
	if plain && len(k) <= maxEchoedValue {
		return "." + k
	}
	if len(k) > maxEchoedValue {
		cut := maxEchoedValue
		for cut > 0 && !utf8.RuneStart(k[cut]) {
			cut--
		}
		k = k[:cut] + "…"
	}
	return "[" + strconv.Quote(k) + "]"
}

// splitBodyError splits the text of a bodyError back into its location and
// message; ok is false for any other text.
func splitBodyError(s string) (at, msg string, ok bool) {
	rest, found := strings.CutPrefix(s, "body")
	if !found {
		return "", "", false
	}
	for {
		switch {
		case strings.HasPrefix(rest, ": "):
			return s[:len(s)-len(rest)], rest[2:], true
		case strings.HasPrefix(rest, "."):
			i := 1
			for i < len(rest) && rest[i] != '.' && rest[i] != '[' && rest[i] != ':' {
				i++
			}
			rest = rest[i:]
		case strings.HasPrefix(rest, "[\""):
			q, err := strconv.QuotedPrefix(rest[1:])
			if err != nil || !strings.HasPrefix(rest[1+len(q):], "]") {
				return "", "", false
			}
			rest = rest[len(q)+2:]
		case strings.HasPrefix(rest, "["):
			i := strings.IndexByte(rest, ']')
			if i < 0 {
				return "", "", false
			}
			if _, err := strconv.Atoi(rest[1:i]); err != nil {
				return "", "", false
			}
			rest = rest[i+1:]
		default:
			return "", "", false
		}
	}
}

// keyScanMap is how many keys an object may have before hasDuplicateKey looks
// its keys up in a map instead of comparing each with all before it.
const keyScanMap = 32

// hasDuplicateKey reports whether an object of data, valid JSON, has a key twice.
// Keys are compared as encoding/json reads them: escapes decoded ("\u0065mail" is
// "email"); those without a backslash, nearly all, byte for byte.
func hasDuplicateKey(data []byte) bool {
	type frame struct {
		object bool
		first  int                 // this object's first key in keys
		set    map[string]struct{} // its keys, once it has keyScanMap of them
	}
	var stackBuf [16]frame
	var keysBuf [64][]byte
	stack, keys := stackBuf[:0], keysBuf[:0]
	expectKey := false
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '{':
			stack = append(stack, frame{object: true, first: len(keys)})
			expectKey = true
		case '[':
			stack = append(stack, frame{first: len(keys)})
			expectKey = false
		case '}', ']':
			if len(stack) == 0 {
				return false // not JSON json.Unmarshal accepted
			}
			keys = keys[:stack[len(stack)-1].first]
			stack = stack[:len(stack)-1]
			expectKey = false
		case ',':
			expectKey = len(stack) > 0 && stack[len(stack)-1].object
		case '"':
			end := i + 1
			for end < len(data) && data[end] != '"' {
				if data[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(data) {
				return false
			}
			if expectKey {
				f := &stack[len(stack)-1]
				k := data[i : end+1] // with its quotes, for decoding
				if f.set != nil {
					name := keyName(k)
					if _, seen := f.set[name]; seen {
						return true
					}
					f.set[name] = struct{}{}
				} else {
					for _, prev := range keys[f.first:] {
						if sameKey(prev, k) {
							return true
						}
					}
					if len(keys)-f.first+1 == keyScanMap {
						f.set = make(map[string]struct{}, 2*keyScanMap)
						for _, prev := range keys[f.first:] {
							f.set[keyName(prev)] = struct{}{}
						}
						f.set[keyName(k)] = struct{}{}
					}
				}
				keys = append(keys, k)
				expectKey = false
			}
			i = end
		}
	}
	return false
}

// sameKey reports whether two quoted JSON strings hold the same text.
func sameKey(a, b []byte) bool {
	if plainKey(a) && plainKey(b) {
		return string(a) == string(b)
	}
	return keyName(a) == keyName(b)
}

// plainKey reports whether a quoted JSON string's text is its bytes: no escape,
// and valid UTF-8 (encoding/json reads each invalid byte as U+FFFD).
func plainKey(quoted []byte) bool {
	return !strings.Contains(string(quoted), "\\") && utf8.Valid(quoted)
}

// keyName is a quoted JSON string's text.
func keyName(quoted []byte) string {
	if plainKey(quoted) {
		return string(quoted[1 : len(quoted)-1])
	}
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return string(quoted)
	}
	return s
}
