package database

import (
	"errors"
	"io/fs"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/aegisgo/aegis/template/internal/runtime/netfail"
)

// Problem says in one line what err, from a ping or a query of db (or creating its SQLite
// file), means for an operator: health messages are shown by /health/detailed, and Start's and
// migrate's failures print the same line; the drivers' own text names the user and the
// database (pgx's "failed to connect to `user=... database=...`"), quotes tables of the SQL and
// the server's internals. Where is the server's host:port, or the SQLite file.
func (db *DB) Problem(err error) string {
	where := db.where()
	pgErr, isPg := errors.AsType[*pgconn.PgError](err)
	sqErr, isSQ := errors.AsType[*sqlite.Error](err)
	pathErr, isPath := errors.AsType[*fs.PathError](err)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrClosed):
		return "closed"
	case isPg && pgErr.Code == "42P01", isSQ && strings.Contains(sqErr.Error(), "no such table"):
		return "a table is missing; run the migrations ('" + CommandName() + " migrate up')"
	case isPg && strings.HasPrefix(pgErr.Code, "28"):
		return where + " refused the login; check the user and password in DATABASE_URL"
	case isPg && pgErr.Code == "3D000":
		return where + " has no such database; check the database name in DATABASE_URL"
	case isPg && pgErr.Code == "42704" && atConnect(err):
		// pgx sends a DATABASE_URL parameter it does not know (?foo=1, a typo of sslmode) to
		// the server as a setting, which the server refuses: the name is the URL's own.
		if m := unknownSetting.FindStringSubmatch(pgErr.Message); m != nil {
			return where + " refused the setting " + strconv.Quote(m[1]) + " in DATABASE_URL; remove it, or use a PostgreSQL setting such as ?application_name=app"
		}
		return where + " refused a setting in DATABASE_URL; check the parameters after ? (SQLSTATE 42704)"
	case isPg && pgErr.Code == "22023" && atConnect(err):
		return where + " refused the value of a setting in DATABASE_URL; check the parameters after ? (SQLSTATE 22023)"
	case isPg && strings.HasPrefix(pgErr.Code, "53"):
		return where + " is out of resources (connections, memory or disk); SQLSTATE " + pgErr.Code
	case isPg && strings.HasPrefix(pgErr.Code, "57"):
		return where + " is shutting down or restarting; SQLSTATE " + pgErr.Code
	case isPg:
		return where + " failed the query; SQLSTATE " + pgErr.Code
	case isSQ && (sqErr.Code()&0xff == sqlite3.SQLITE_BUSY || sqErr.Code()&0xff == sqlite3.SQLITE_LOCKED):
		return where + " is locked by another writer"
	case isSQ && sqErr.Code()&0xff == sqlite3.SQLITE_CANTOPEN:
		return "cannot open " + where + "; check the path in DATABASE_URL and that the folder is writable"
	case isSQ && sqErr.Code()&0xff == sqlite3.SQLITE_NOTADB:
		return where + " is not a SQLite database; check the path in DATABASE_URL"
	case isSQ:
		return where + " failed the query; sqlite error " + ErrorCode(err)[len("sqlite "):]
	case isPath && db.engine == SQLite:
		// Creating the SQLite file or its folder (createPrivate): the system's reason
		// ("permission denied", "not a directory") without the path it repeats.
		return "cannot create " + where + ": " + pathErr.Err.Error() + "; check the path in DATABASE_URL and that the folder is writable"
	}
	// What failed on the way to the server: netfail's classification, shared with the other
	// parts; only the kinds a DATABASE_URL user fixes differently get words of their own.
	switch netfail.Classify(err) {
	case netfail.Canceled:
		return "check cancelled"
	case netfail.Timeout:
		return where + " did not answer in time"
	case netfail.HostName:
		return "cannot resolve the host name of " + where + "; check the host in DATABASE_URL"
	case netfail.Certificate:
		return where + "'s TLS certificate is not trusted; check sslmode and sslrootcert in DATABASE_URL"
	}
	var netErr net.Error
	var connErr *pgconn.ConnectError
	if errors.As(err, &netErr) || errors.As(err, &connErr) {
		return "cannot reach " + where + "; check DATABASE_URL and that the server is running"
	}
	return where + " failed the query"
}

// unknownSetting finds the name in PostgreSQL's refusal of a setting it does not have.
var unknownSetting = regexp.MustCompile(`^unrecognized configuration parameter "([A-Za-z0-9_.]{1,63})"$`)

// atConnect says whether err is from connecting: the settings of DATABASE_URL are sent then,
// and the same SQLSTATE from a query is the query's.
func atConnect(err error) bool {
	_, ok := errors.AsType[*pgconn.ConnectError](err)
	return ok
}

// where names the server (host:port) or the SQLite file (absolute), without the user or the
// password. It needs no connection: Open's failure to create the file uses it too.
func (db *DB) where() string {
	if db.engine == SQLite {
		path := db.target.path
		if abs, err := filepath.Abs(path); err == nil && path != ":memory:" {
			path = abs
		}
		return path
	}
	if db.target.pg == nil {
		return "the database"
	}
	cc := db.target.pg.ConnConfig
	return net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port)))
}
