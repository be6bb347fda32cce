package backend

import (
	"errors"
	"fmt"
)

// MaxPage bounds the page number of every paginated list. Offsets past it
// are useless to a client (a million pages of results) and, unbounded,
// (page-1)*perPage overflows int64 and wraps round to an early page. API
// inputs say the same with a maximum tag, so huma answers 422 before the
// handler runs:
//
//	Page int `query:"page" minimum:"1" maximum:"1000000" default:"1"`
const MaxPage = 1_000_000

// MaxPerPage bounds the page size PageOffset accepts; a list may allow less.
const MaxPerPage = 10_000

// ErrPageOutOfRange is wrapped by PageOffset's error.
var ErrPageOutOfRange = errors.New("page out of range")

// PageOffset returns the row offset of page (from 1) with perPage rows per
// page, refusing a page or size out of range instead of overflowing.
func PageOffset(page, perPage int) (int64, error) {
	if page < 1 || page > MaxPage {
		return 0, fmt.Errorf("page %d: %w (use 1 to %d)", page, ErrPageOutOfRange, MaxPage)
	}
	if perPage < 1 || perPage > MaxPerPage {
		return 0, fmt.Errorf("%d per page: %w (use 1 to %d)", perPage, ErrPageOutOfRange, MaxPerPage)
	}
	// Both are bounded, so the product fits in int64.
	return int64(page-1) * int64(perPage), nil
}
