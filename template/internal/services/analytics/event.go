package analytics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// Limits on what an event may hold. The public endpoint refuses an event past them; events
// tracked from code are trusted to stay within them.
const (
	// MaxNameLen is the longest event name.
	MaxNameLen = 64
	// MaxProperties is the most properties an event may carry.
	MaxProperties = 20
	// MaxPropertyBytes bounds an event's properties encoded as JSON.
	MaxPropertyBytes = 2048
	// MaxBatch is the most events one POST /api/v1/analytics/events may carry.
	MaxBatch = 100
	// MaxEventAge and MaxClockSkew bound the time a client may give an event: no older than
	// a day (a browser that was offline) and no further ahead than the skew of its clock.
	MaxEventAge  = 24 * time.Hour
	MaxClockSkew = 5 * time.Minute
)

// Names of the events the service tracks itself.
const (
	EventUserAction = "user_action"
	EventPageView   = "page_view"
	EventAPIRequest = "api_request"
)

// NamePattern is what an event name looks like: a lowercase letter, then lowercase letters,
// digits, '_', '.', ':' or '-', at most MaxNameLen characters in all.
const NamePattern = `^[a-z][a-z0-9_.:-]{0,63}$`

// ValidName reports whether name matches NamePattern. It is written out, not a regexp,
// because Track calls it on every event.
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > MaxNameLen || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for i := 1; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// Event is one tracked event.
type Event struct {
	Name string
	// UserID is the user the event belongs to; "" for none.
	UserID string
	// Props are the event's properties; the map must not change after it is tracked (it is
	// encoded when the buffer is written, not before).
	Props map[string]any
	// At is when it happened (UTC).
	At time.Time
}

// encodeProps returns the properties as a JSON object.
func encodeProps(props map[string]any) (string, error) {
	if len(props) == 0 {
		return "{}", nil
	}
	// Without HTML escaping: json.Marshal writes <, > and & as \u003c (6 bytes for 1), so
	// properties a client measured at MaxPropertyBytes as JSON were refused, and stored
	// inflated.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(props); err != nil {
		return "", fmt.Errorf("analytics: encode properties: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// checkProps reports what makes props unfit for the public endpoint, "" when nothing: too
// many, a bad key, a value that is not a string, number, boolean or null, or too large.
func checkProps(props map[string]any) string {
	if len(props) > MaxProperties {
		return fmt.Sprintf("has %d properties; at most %d are allowed", len(props), MaxProperties)
	}
	for k, v := range props {
		if !validKey(k) {
			return fmt.Sprintf("property %q: a key is 1-64 letters, digits or '_', starting with a letter or '_'", k)
		}
		switch v := v.(type) {
		case string:
			if strings.IndexByte(v, 0) >= 0 {
				return fmt.Sprintf("property %q: the value holds a NUL character (U+0000), which cannot be stored; remove it", k)
			}
		case nil, bool, float64, json.Number:
		default:
			return fmt.Sprintf("property %q: a value is a string, number, boolean or null", k)
		}
	}
	enc, err := encodeProps(props)
	if err != nil {
		return "properties cannot be encoded as JSON"
	}
	if len(enc) > MaxPropertyBytes {
		return fmt.Sprintf("properties take %d bytes as JSON; at most %d are allowed", len(enc), MaxPropertyBytes)
	}
	return ""
}

func validKey(k string) bool {
	if len(k) == 0 || len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// hasNUL reports whether v holds a NUL character (U+0000) in a string, a map key or a value
// at any depth of maps and slices. PostgreSQL stores no NUL in text or jsonb: one such event
// would make the database refuse its whole batch. Other types (structs, a caller's own maps)
// are not looked into; the store drops an event the database refuses (see writeSplit).
func hasNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.IndexByte(v, 0) >= 0
	case map[string]any:
		for k, x := range v {
			if strings.IndexByte(k, 0) >= 0 || hasNUL(x) {
				return true
			}
		}
	case map[string]string:
		for k, x := range v {
			if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(x, 0) >= 0 {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if hasNUL(x) {
				return true
			}
		}
	case []string:
		for _, x := range v {
			if strings.IndexByte(x, 0) >= 0 {
				return true
			}
		}
	}
	return false
}

// hasNonFinite reports whether v holds a NaN or infinite number, at any depth of maps and
// slices. JSON has no such number: the event's properties could not be encoded when the
// buffer is written, so it was accepted (TrackEvent reported true, tracked counted it) and
// then lost as invalid at the write, a ratio divided by zero showing as tracked but never
// stored. Other types are left to the write, as in hasNUL.
func hasNonFinite(v any) bool {
	switch v := v.(type) {
	case float64:
		return math.IsNaN(v) || math.IsInf(v, 0)
	case float32:
		return hasNonFinite(float64(v))
	case map[string]any:
		for _, x := range v {
			if hasNonFinite(x) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if hasNonFinite(x) {
				return true
			}
		}
	case map[string]float64:
		for _, x := range v {
			if hasNonFinite(x) {
				return true
			}
		}
	case []float64:
		for _, x := range v {
			if hasNonFinite(x) {
				return true
			}
		}
	}
	return false
}
