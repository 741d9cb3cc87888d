package handshake

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"strconv"
)

// Digest is the proof of knowing the cookie: the MD5 of the cookie followed by the challenge
// written in decimal, as both ends of an Erlang handshake compute it.
func Digest(challenge uint32, cookie string) [DigestSize]byte {
	buf := make([]byte, 0, len(cookie)+10)
	buf = append(buf, cookie...)
	buf = strconv.AppendUint(buf, uint64(challenge), 10)
	return md5.Sum(buf)
}

// validDigest compares in constant time, so the time to refuse does not leak how much of a
// forged digest was right.
func validDigest(got [DigestSize]byte, challenge uint32, cookie string) bool {
	want := Digest(challenge, cookie)
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// newChallenge draws a challenge from the system's secure source: a predictable challenge would
// let a recorded digest be replayed.
func newChallenge() uint32 {
	var b [4]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}
