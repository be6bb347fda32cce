package backend

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"
)

// rangeInput has an integer parameter of each size narrower than 64 bits, in each
// location, one with a declared maximum past its type's, and lists of them.
type rangeInput struct {
	P8  int8      `path:"p8"`
	I8  int8      `query:"i8"`
	I16 int16     `query:"i16"`
	I32 int32     `query:"i32"`
	U8  uint8     `query:"u8"`
	U16 uint16    `query:"u16"`
	U32 uint32    `query:"u32"`
	U   uint      `query:"u"`
	F32 float32   `query:"f32"`
	M8  int8      `query:"m8" maximum:"1000"`
	H16 int16     `header:"X-Level"`
	C8  uint8     `cookie:"c8"`
	L8  []int8    `query:"l8"`
	E16 []uint16  `query:"e16,explode"`
	HL  []int8    `header:"X-Levels"`
	LI  []int     `query:"li"`
	LU  []uint64  `query:"lu"`
	L64 []int64   `query:"l64,explode"`
	LF  []float32 `query:"lf"`
}

type rangeOutput struct {
	Body struct {
		Read string `json:"read"`
	}
}

var rangeRoutes = Routes(func(r *Router) error {
	huma.Get(r.API, "/test/range/{p8}", func(_ context.Context, in *rangeInput) (*rangeOutput, error) {
		out := &rangeOutput{}
		out.Body.Read = fmt.Sprint(in.P8, in.I8, in.I16, in.I32, in.U8, in.U16, in.U32, in.U, in.F32, in.M8, in.H16, in.C8, in.L8, in.E16, in.HL, in.LI, in.LU, in.L64, in.LF)
		return out, nil
	})
	return nil
})

// TestParamRange: an integer parameter narrower than 64 bits given a value past its type's
// range is refused with its range, in every location and as a list's item: huma read it as
// 64 bits and converted it, so that 300 given an int8 reached the operation as 44 (1e39
// given a float32 as +Inf), and it
// refused a list's item out of range as not a whole number (a []int's, a []uint64's or a
// []float32's too: the item is a number, too large or too small). Values in range reach the
// operation as given.
func TestParamRange(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{routes: rangeRoutes})
	const vf = "validation failed: "
	tests := []struct {
		name, target string
		header       http.Header
		detail       string // of the 422; "" for a 200
		read         string // on 200
	}{
		{name: "int8 too large", target: "/test/range/1?i8=300", detail: vf + "query.i8: must be at most 127"},
		{name: "int8 too small", target: "/test/range/1?i8=-129", detail: vf + "query.i8: must be at least -128"},
		{name: "int16 too large", target: "/test/range/1?i16=32768", detail: vf + "query.i16: must be at most 32767"},
		{name: "int32 too small", target: "/test/range/1?i32=-2147483649", detail: vf + "query.i32: must be at least -2147483648"},
		{name: "uint8 too large", target: "/test/range/1?u8=256", detail: vf + "query.u8: must be at most 255"},
		{name: "uint16 too large", target: "/test/range/1?u16=70000", detail: vf + "query.u16: must be at most 65535"},
		{name: "uint32 too large", target: "/test/range/1?u32=4294967296", detail: vf + "query.u32: must be at most 4294967295"},
		{name: "uint past its range", target: "/test/range/1?u=18446744073709551616", detail: vf + "query.u: is too large a number; send a smaller whole number such as 10"},
		{name: "float32 too large", target: "/test/range/1?f32=1e39", detail: vf + "query.f32: must be at most 3.4028234663852886e+38"},
		{name: "float32 too small", target: "/test/range/1?f32=-1e39", detail: vf + "query.f32: must be at least -3.4028234663852886e+38"},
		{name: "declared maximum past the type's", target: "/test/range/1?m8=300", detail: vf + "query.m8: must be at most 127"},
		{name: "path", target: "/test/range/300", detail: vf + "path.p8: must be at most 127"},
		{name: "header", target: "/test/range/1", header: http.Header{"X-Level": {"40000"}}, detail: vf + "header.X-Level: must be at most 32767"},
		{name: "cookie", target: "/test/range/1", header: http.Header{"Cookie": {"c8=300"}}, detail: vf + "cookie.c8: must be at most 255"},
		{name: "list item too large", target: "/test/range/1?l8=1,300", detail: vf + "query.l8: item 300 is too large; each item must be at most 127"},
		{name: "list item too small", target: "/test/range/1?l8=-200,1", detail: vf + "query.l8: item -200 is too small; each item must be at least -128"},
		{name: "list item past int64", target: "/test/range/1?l8=99999999999999999999", detail: vf + "query.l8: item 99999999999999999999 is too large; each item must be at most 127"},
		{name: "exploded list item", target: "/test/range/1?e16=1&e16=70000", detail: vf + "query.e16: item 70000 is too large; each item must be at most 65535"},
		{name: "exploded list item negative", target: "/test/range/1?e16=-1", detail: vf + "query.e16: item -1 is too small; each item must be at least 0"},
		{name: "header list item", target: "/test/range/1", header: http.Header{"X-Levels": {"5,128"}}, detail: vf + "header.X-Levels: item 128 is too large; each item must be at most 127"},
		{name: "list item not a number", target: "/test/range/1?l8=1,x", detail: vf + "query.l8: must be a whole number such as 10"},
		// huma refuses a 64-bit or float item past its type's range as not a number.
		{name: "[]int item past int64", target: "/test/range/1?li=1,99999999999999999999",
			detail: vf + "query.li: item 99999999999999999999 is too large; each item must be at most 9223372036854775807"},
		{name: "[]uint64 item negative", target: "/test/range/1?lu=1,-1", detail: vf + "query.lu: item -1 is too small; each item must be at least 0"},
		{name: "[]uint64 item past uint64", target: "/test/range/1?lu=999999999999999999999",
			detail: vf + "query.lu: an item is too large; each item must be at most 18446744073709551615"},
		{name: "[]int64 exploded item past int64", target: "/test/range/1?l64=1&l64=-9223372036854775809",
			detail: vf + "query.l64: item -9223372036854775809 is too small; each item must be at least -9223372036854775808"},
		{name: "[]float32 item too large", target: "/test/range/1?lf=1.5,1e39", detail: vf + "query.lf: item 1e39 is too large; each item must be at most 3.4028234663852886e+38"},
		{name: "[]float32 item too small", target: "/test/range/1?lf=-1e39", detail: vf + "query.lf: item -1e39 is too small; each item must be at least -3.4028234663852886e+38"},
		{name: "[]float32 item not a number", target: "/test/range/1?lf=1e", detail: vf + "query.lf: must be a number such as 1.5"},
		{name: "[]uint64 item with a sign", target: "/test/range/1?lu=%2B1", detail: vf + "query.lu: must be a whole number written without a sign, such as 10"},
		{name: "bounds", target: "/test/range/-128?i8=127&i16=-32768&i32=2147483647&u8=255&u16=65535&u32=4294967295&u=18446744073709551615&f32=3.4e38&m8=127&c8=0&l8=-128,127&e16=0&e16=65535" +
			"&li=-9223372036854775808,9223372036854775807&lu=0,18446744073709551615&l64=-9223372036854775808&l64=9223372036854775807&lf=-3.4e38,3.4e38,1e-50",
			header: http.Header{"X-Level": {"32767"}, "X-Levels": {"-128,127"}, "Cookie": {"c8=255"}},
			read: "-128 127 -32768 2147483647 255 65535 4294967295 18446744073709551615 3.4e+38 127 32767 255 [-128 127] [0 65535] [-128 127]" +
				" [-9223372036854775808 9223372036854775807] [0 18446744073709551615] [-9223372036854775808 9223372036854775807] [-3.4e+38 3.4e+38 0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := f.do(t, http.MethodGet, tt.target, nil, tt.header)
			if tt.detail == "" {
				if rec.Code != http.StatusOK {
					t.Fatalf("GET %s: %d %s, want 200", tt.target, rec.Code, rec.Body)
				}
				if got := decode[struct {
					Read string `json:"read"`
				}](t, rec); got.Read != tt.read {
					t.Errorf("the operation read %q, want %q", got.Read, tt.read)
				}
				return
			}
			if p := problem(t, rec, http.StatusUnprocessableEntity); p.Detail != tt.detail {
				t.Errorf("detail = %q\nwant     %q", p.Detail, tt.detail)
			}
		})
	}
}

// finiteInput has a float parameter in each location and lists of floats.
type finiteInput struct {
	P   float64   `path:"p"`
	F   float64   `query:"f"`
	F32 float32   `query:"f32"`
	H   float64   `header:"X-Ratio"`
	L   []float64 `query:"l"`
	E32 []float32 `query:"e32,explode"`
}

var finiteRoutes = Routes(func(r *Router) error {
	huma.Get(r.API, "/test/finite/{p}", func(_ context.Context, in *finiteInput) (*rangeOutput, error) {
		out := &rangeOutput{}
		out.Body.Read = fmt.Sprint(in.P, in.F, in.F32, in.H, in.L, in.E32)
		return out, nil
	})
	huma.Post(r.API, "/test/finite", func(_ context.Context, in *struct {
		Body struct {
			F float64 `json:"f"`
		}
	}) (*rangeOutput, error) {
		out := &rangeOutput{}
		out.Body.Read = fmt.Sprint(in.Body.F)
		return out, nil
	})
	return nil
})

// TestNonFiniteFloats: a float parameter or list item given NaN or an infinity, which huma
// read (strconv.ParseFloat does) and which no JSON can carry, is refused with a 422 in every
// location, as is a float64 past its range (huma: not a number). A JSON body cannot carry
// them: encoding/json refuses NaN and Infinity, and 1e400, with a 400 before any handler.
func TestNonFiniteFloats(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{routes: finiteRoutes})
	const vf = "validation failed: "
	const finite = "must be a finite number, such as 1.5"
	tests := []struct {
		name, method, target, body string
		header                     http.Header
		status                     int
		detail                     string // of the error; "" when not checked
		read                       string // on 200
	}{
		{name: "NaN", target: "/test/finite/1?f=NaN", status: 422, detail: vf + "query.f: " + finite},
		{name: "nan", target: "/test/finite/1?f=nan", status: 422, detail: vf + "query.f: " + finite},
		{name: "Inf", target: "/test/finite/1?f=Inf", status: 422, detail: vf + "query.f: " + finite},
		{name: "+Inf", target: "/test/finite/1?f=%2BInf", status: 422, detail: vf + "query.f: " + finite},
		{name: "-Infinity", target: "/test/finite/1?f=-Infinity", status: 422, detail: vf + "query.f: " + finite},
		{name: "float32 infinity", target: "/test/finite/1?f32=INFINITY", status: 422, detail: vf + "query.f32: " + finite},
		{name: "path", target: "/test/finite/NaN", status: 422, detail: vf + "path.p: " + finite},
		{name: "header", target: "/test/finite/1", header: http.Header{"X-Ratio": {"-inf"}}, status: 422, detail: vf + "header.X-Ratio: " + finite},
		{name: "list item", target: "/test/finite/1?l=1.5,NaN", status: 422,
			detail: vf + "query.l: item NaN is not a finite number; each item must be a finite number, such as 1.5"},
		{name: "exploded list item", target: "/test/finite/1?e32=1&e32=-Inf", status: 422,
			detail: vf + "query.e32: item -Inf is not a finite number; each item must be a finite number, such as 1.5"},
		{name: "float64 past its range", target: "/test/finite/1?f=1e400", status: 422, detail: vf + "query.f: must be at most 1.7976931348623157e+308"},
		{name: "float64 item past its range", target: "/test/finite/1?l=-1e400", status: 422,
			detail: vf + "query.l: item -1e400 is too small; each item must be at least -1.7976931348623157e+308"},
		{name: "not a number", target: "/test/finite/1?f=nine", status: 422, detail: vf + "query.f: must be a number such as 1.5"},
		{name: "finite", target: "/test/finite/-2.5?f=1e308&f32=0x1p-2&l=1,-1.5e-300&e32=3&e32=4", header: http.Header{"X-Ratio": {"0.5"}},
			status: 200, read: "-2.5 1e+308 0.25 0.5 [1 -1.5e-300] [3 4]"},
		{name: "body NaN", method: http.MethodPost, target: "/test/finite", body: `{"f":NaN}`, status: 400},
		{name: "body Infinity", method: http.MethodPost, target: "/test/finite", body: `{"f":-Infinity}`, status: 400},
		{name: "body past float64", method: http.MethodPost, target: "/test/finite", body: `{"f":1e400}`, status: 400},
		{name: "body NaN as a string", method: http.MethodPost, target: "/test/finite", body: `{"f":"NaN"}`, status: 422,
			detail: vf + "body.f: must be a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			method, header := http.MethodGet, tt.header
			var body io.Reader
			if tt.method != "" {
				method, body = tt.method, strings.NewReader(tt.body)
				header = http.Header{"Content-Type": {"application/json"}}
			}
			rec := f.do(t, method, tt.target, body, header)
			if tt.status == http.StatusOK {
				if rec.Code != http.StatusOK {
					t.Fatalf("%s %s: %d %s, want 200", method, tt.target, rec.Code, rec.Body)
				}
				if got := decode[struct {
					Read string `json:"read"`
				}](t, rec); got.Read != tt.read {
					t.Errorf("the operation read %q, want %q", got.Read, tt.read)
				}
				return
			}
			if p := problem(t, rec, tt.status); tt.detail != "" && p.Detail != tt.detail {
				t.Errorf("detail = %q\nwant     %q", p.Detail, tt.detail)
			}
		})
	}
}

// BenchmarkParamChecks is what checking a list of narrow integers, a float and a list of
// floats costs a request that gives them in range, on an operation that has them (others
// have no check): the query parsed once for each.
func BenchmarkParamChecks(b *testing.B) {
	checks := []paramCheck{
		{in: "query", name: "ids", list: true, lo: -128, hi: 127},
		{in: "query", name: "ratio", float: 64},
		{in: "query", name: "at", list: true, float: 32},
	}
	r := httptest.NewRequest(http.MethodGet, "/items?ids=1,2,3,4,5&ratio=0.25&at=1.5,-2.5&limit=10", nil)
	b.ReportAllocs()
	for b.Loop() {
		if errs := paramChecks(nil, r, checks); errs != nil {
			b.Fatal(errs)
		}
	}
}

// level is an enum-like integer type of its own, and shade one of strings.
type (
	level int
	shade string
)

// addrList is a list that reads itself (comma-separated addresses).
type addrList []netip.Addr

func (l *addrList) UnmarshalText(b []byte) error {
	*l = nil
	for s := range strings.SplitSeq(string(b), ",") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return err
		}
		*l = append(*l, a)
	}
	return nil
}

// rulesAPI is an API made as Server.Handler makes it: the rules' adapter, whose registry
// notes the parameters' types.
func rulesAPI() (huma.API, http.Handler) {
	mux := chi.NewMux()
	cfg := huma.DefaultConfig("test", "1")
	types := newTypedRegistry(cfg.Components.Schemas)
	cfg.Components.Schemas = types
	adapter := &limitedAdapter{Adapter: humachi.NewAdapter(mux), maxBody: 1 << 20, types: types}
	api := huma.NewAPI(cfg, adapter)
	adapter.api = api
	return api, mux
}

// registerList registers GET /list with a query parameter l of type T, and a header X-L of
// type T, returning the panic of the registration as an error.
func registerList[T any](api huma.API, read *string) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%v", v)
		}
	}()
	huma.Register(api, huma.Operation{OperationID: "list", Method: http.MethodGet, Path: "/list"},
		func(_ context.Context, in *struct {
			L T `query:"l"`
		}) (*struct{}, error) {
			*read = fmt.Sprint(in.L)
			return nil, nil
		})
	return nil
}

// TestListParamTypes: a list parameter whose items huma cannot read is refused when the
// operation is registered, naming it and what to declare instead: huma panicked at each
// request giving it (a 500) for []bool, []time.Time, []netip.Addr and numbers of a type of
// their own ([]time.Duration, []level), and refused any value of a []byte (documented as
// base64, read as numbers) or a net.IP (read as numbers, not as an address). The lists huma reads keep working.
func TestListParamTypes(t *testing.T) {
	t.Parallel()
	const fails = "which huma cannot read (each request giving it would fail with a 500): "
	tests := []struct {
		name     string
		register func(huma.API, *string) error
		err      string // of the registration; "" for none
		query    string // given to one that registers
		read     string // what the operation then read
	}{
		{name: "[]bool", register: registerList[[]bool],
			err: `query parameter "l" is a []bool, ` + fails + "declare it as []string and read each item with strconv.ParseBool"},
		{name: "[]time.Time", register: registerList[[]time.Time],
			err: `query parameter "l" is a []time.Time, ` + fails + "declare it as []string and convert each item to time.Time"},
		{name: "[]netip.Addr", register: registerList[[]netip.Addr],
			err: `query parameter "l" is a []netip.Addr, ` + fails + "declare it as []string and convert each item to netip.Addr"},
		{name: "[]time.Duration", register: registerList[[]time.Duration],
			err: `query parameter "l" is a []time.Duration, ` + fails + "declare it as []int64 and convert each item to time.Duration"},
		{name: "[]level", register: registerList[[]level],
			err: `query parameter "l" is a []backend.level, ` + fails + "declare it as []int and convert each item to backend.level"},
		{name: "[]uint8", register: registerList[[]uint8],
			err: `query parameter "l" is a []uint8, which huma documents as base64 text yet reads as numbers, so that no value is accepted: declare it as a string and decode it, or as []uint16 for a list of numbers`},
		{name: "net.IP", register: registerList[net.IP],
			err: `query parameter "l" is a net.IP, which huma reads as a list of numbers, not by its UnmarshalText, so that no value is accepted: declare it as a netip.Addr, which huma reads`},
		{name: "[]string", register: registerList[[]string], query: "l=a,b", read: "[a b]"},
		{name: "[]shade", register: registerList[[]shade], query: "l=a,b", read: "[a b]"},
		{name: "[]int", register: registerList[[]int], query: "l=1,2", read: "[1 2]"},
		{name: "[]float32", register: registerList[[]float32], query: "l=1.5,2", read: "[1.5 2]"},
		{name: "[]uint64", register: registerList[[]uint64], query: "l=1,18446744073709551615", read: "[1 18446744073709551615]"},
		{name: "a list reading itself", register: registerList[addrList], query: "l=192.0.2.1,::1", read: "[192.0.2.1 ::1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api, h := rulesAPI()
			var read string
			err := tt.register(api, &read)
			if tt.err != "" {
				if want := `backend: operation "list" (GET /list): ` + tt.err; err == nil || err.Error() != want {
					t.Errorf("registration: %v\nwant %s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("registration: %v", err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/list?"+tt.query, nil))
			if rec.Code != http.StatusNoContent || read != tt.read {
				t.Errorf("GET /list?%s: %d %s, read %q; want 204, %q", tt.query, rec.Code, rec.Body, read, tt.read)
			}
		})
	}
}

// registerInput registers GET /defaults with input I, returning the panic of the registration
// as an error; the operation writes what it read to read.
func registerInput[I any](api huma.API, read *string) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%v", v)
		}
	}()
	huma.Register(api, huma.Operation{OperationID: "defaults", Method: http.MethodGet, Path: "/defaults"},
		func(_ context.Context, in *I) (*struct{}, error) {
			*read = fmt.Sprint(*in)
			return nil, nil
		})
	return nil
}

// TestParamDefaults: a parameter whose default tag is past its bounds refuses the
// registration, naming it: huma took it, and refused each request not giving the parameter
// (a 422 for a value the client never sent) or, for a float32 past its range, documented an
// infinity, which no JSON can carry. An integer default past its type's range (300 for an
// int8), which huma documents wrapped (44) and cannot be told at registration, is refused at
// each request, never reaching the operation wrapped. Defaults in range are read.
func TestParamDefaults(t *testing.T) {
	t.Parallel()
	const refuses = "each request not giving it would be refused; give it a default within its range"
	tests := []struct {
		name     string
		register func(huma.API, *string) error
		err      string // of the registration; "" for none
		status   int    // of GET /defaults when registered
		read     string // what the operation then read
	}{
		{name: "float32 past its range", register: registerInput[struct {
			F float32 `query:"f" default:"1e39"`
		}], err: `query parameter "f" has the default +Inf, which is not a finite number (a default past its type's range?): ` + refuses},
		{name: "past a declared maximum", register: registerInput[struct {
			N int `query:"n" default:"50" maximum:"10"`
		}], err: `query parameter "n" has the default 50, which is more than its maximum, 10: ` + refuses},
		{name: "below a declared minimum", register: registerInput[struct {
			N int64 `header:"X-N" default:"5" minimum:"10"`
		}], err: `header parameter "X-N" has the default 5, which is less than its minimum, 10: ` + refuses},
		{name: "at an exclusive minimum", register: registerInput[struct {
			F float64 `query:"f" default:"0" exclusiveMinimum:"0"`
		}], err: `query parameter "f" has the default 0, which is not more than its exclusive minimum, 0: ` + refuses},
		{name: "int8 past its range", register: registerInput[struct {
			N int8 `query:"n" default:"300"`
		}], status: http.StatusUnprocessableEntity},
		{name: "in range", register: registerInput[struct {
			N int8    `query:"n" default:"-128"`
			F float32 `query:"f" default:"1.5" maximum:"2"`
		}], status: http.StatusNoContent, read: "{-128 1.5}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api, h := rulesAPI()
			var read string
			err := tt.register(api, &read)
			if tt.err != "" {
				if want := `backend: operation "defaults" (GET /defaults): ` + tt.err; err == nil || err.Error() != want {
					t.Errorf("registration: %v\nwant %s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("registration: %v", err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/defaults", nil))
			if rec.Code != tt.status || read != tt.read {
				t.Errorf("GET /defaults: %d %s, read %q; want %d, %q", rec.Code, rec.Body, read, tt.status, tt.read)
			}
		})
	}
}
