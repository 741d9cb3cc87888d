package handshake

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// CookieFileName is the file erl keeps the default cookie in, in the user's home directory.
const CookieFileName = ".erlang.cookie"

// DefaultCookie returns the cookie erl would use: the content of ~/.erlang.cookie or, when
// that file does not exist, of .erlang.cookie in erl's configuration directory
// ($XDG_CONFIG_HOME/erlang, by default ~/.config/erlang); when neither exists,
// ~/.erlang.cookie is created with a random cookie (20 uppercase letters, mode 0400). erl does
// the same, so a Go node and erl nodes of the same user agree without configuration.
func DefaultCookie() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cookie: no home directory for %s: %w", CookieFileName, err)
	}
	path := filepath.Join(home, CookieFileName)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		config := os.Getenv("XDG_CONFIG_HOME")
		if config == "" {
			config = filepath.Join(home, ".config")
		}
		if cookie, err := readCookie(filepath.Join(config, "erlang", CookieFileName)); !errors.Is(err, fs.ErrNotExist) {
			return cookie, err
		}
	}
	return CookieFromFile(path)
}

// CookieFromFile reads the cookie kept in path, creating the file as erl does when it is
// missing. Like erl it refuses a file that others can read or write, and an empty one.
func CookieFromFile(path string) (string, error) {
	cookie, err := readCookie(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createCookie(path); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", err
		}
		// Read back what is there: another node may have created it first.
		cookie, err = readCookie(path)
	}
	return cookie, err
}

func readCookie(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("cookie: %s is not a regular file", path)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("cookie: %s must be accessible by its owner only (mode %04o)", path, info.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cookie: %w", err)
	}
	cookie, err := parseCookie(string(data))
	if err != nil {
		return "", fmt.Errorf("cookie: %s: %w", path, err)
	}
	return cookie, nil
}

// parseCookie reads a cookie file as erl's auth does: the cookie is the characters from space
// to '~' up to the first other one, spaces included; after it only newlines, carriage returns
// and spaces may follow.
func parseCookie(data string) (string, error) {
	end := strings.IndexFunc(data, func(r rune) bool { return r < ' ' || r > '~' })
	if end < 0 {
		end = len(data)
	}
	if strings.Trim(data[end:], "\n\r ") != "" {
		return "", errors.New("bad characters in cookie (erl refuses it too)")
	}
	if end == 0 {
		return "", errors.New("the cookie is empty")
	}
	return data[:end], nil
}

func createCookie(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o400)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("cookie: cannot create %s: %w", path, err)
	}
	_, werr := f.WriteString(RandomCookie())
	cerr := f.Close()
	if werr != nil || cerr != nil {
		os.Remove(path)
		return fmt.Errorf("cookie: cannot write %s: %w", path, errors.Join(werr, cerr))
	}
	return nil
}

// RandomCookie returns a cookie of 20 random uppercase letters, the form erl generates.
func RandomCookie() string {
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	var b [20]byte
	// 256 is not a multiple of 26: redraw bytes that would bias the letters.
	for i := 0; i < len(b); {
		var r [1]byte
		rand.Read(r[:])
		if r[0] >= 26*9 {
			continue
		}
		b[i] = letters[r[0]%26]
		i++
	}
	return string(b[:])
}
