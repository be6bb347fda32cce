package backend

import (
	"errors"
	"math"
	"testing"
)

func TestPageOffset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		page, perPage int
		want          int64
		wantErr       bool
	}{
		{page: 1, perPage: 20, want: 0},
		{page: 3, perPage: 20, want: 40},
		{page: MaxPage, perPage: 100, want: int64(MaxPage-1) * 100},
		{page: 0, perPage: 20, wantErr: true},
		{page: -1, perPage: 20, wantErr: true},
		{page: 1, perPage: 0, wantErr: true},
		{page: MaxPage + 1, perPage: 1, wantErr: true},
		{page: 4611686018427387906, perPage: 4, wantErr: true},
		{page: math.MaxInt, perPage: math.MaxInt, wantErr: true},
		{page: 2, perPage: math.MaxInt, wantErr: true},
	}
	for _, tt := range tests {
		got, err := PageOffset(tt.page, tt.perPage)
		if tt.wantErr {
			if !errors.Is(err, ErrPageOutOfRange) {
				t.Errorf("PageOffset(%d, %d) = %d, %v; want ErrPageOutOfRange", tt.page, tt.perPage, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("PageOffset(%d, %d) = %d, %v; want %d", tt.page, tt.perPage, got, err, tt.want)
		}
	}
}
