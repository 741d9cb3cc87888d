package handshake

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Message tags of the distribution handshake. Every message travels in a frame with a 16-bit
// big-endian length; the functions in this file deal with the body that follows the length.
const (
	tagName       = 'N' // send_name (version 6) and the challenge
	tagLegacyName = 'n' // send_name and challenge of the version 5 handshake
	tagStatus     = 's'
	tagComplement = 'c'
	tagReply      = 'r'
	tagAck        = 'a'
)

// Status codes sent by the accepting node after it has read the initiator's name (and by the
// initiator in answer to StatusAlive).
const (
	StatusOK             = "ok"
	StatusOKSimultaneous = "ok_simultaneous"
	StatusNOK            = "nok"
	StatusNotAllowed     = "not_allowed"
	StatusAlive          = "alive"
	StatusNamed          = "named:"
	StatusTrue           = "true"
	StatusFalse          = "false"
)

// DigestSize is the size of an MD5 digest.
const DigestSize = 16

// ErrMalformed is wrapped by every decoding error: the bytes are not the message they claim
// to be.
var ErrMalformed = errors.New("malformed handshake message")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// NameMessage is the initiator's introduction (send_name).
type NameMessage struct {
	Flags    Flags
	Creation uint32 // zero in a legacy message, which has no creation
	// Name is the full node name, or only the host name when Flags has FlagNameMe.
	Name string
	// Legacy is set for the version 5 form ('n'), which carries the low 32 flag bits only; the
	// rest and the creation then follow in a ComplementMessage.
	Legacy bool
	// Version is the distribution version a legacy message names (5); zero otherwise.
	Version uint16
}

// AppendName appends the body of m ('N', or 'n' when m.Legacy) to dst.
func AppendName(dst []byte, m NameMessage) []byte {
	if m.Legacy {
		dst = append(dst, tagLegacyName)
		dst = binary.BigEndian.AppendUint16(dst, m.Version)
		dst = binary.BigEndian.AppendUint32(dst, uint32(m.Flags))
		return append(dst, m.Name...)
	}
	dst = append(dst, tagName)
	dst = binary.BigEndian.AppendUint64(dst, uint64(m.Flags))
	dst = binary.BigEndian.AppendUint32(dst, m.Creation)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(m.Name)))
	return append(dst, m.Name...)
}

// DecodeName decodes a send_name body of either form. Bytes after the name of an 'N' message
// are ignored, as the protocol asks.
func DecodeName(b []byte) (NameMessage, error) {
	if len(b) == 0 {
		return NameMessage{}, malformed("empty name message")
	}
	switch b[0] {
	case tagName:
		if len(b) < 15 {
			return NameMessage{}, malformed("name message of %d bytes is too short", len(b))
		}
		m := NameMessage{
			Flags:    Flags(binary.BigEndian.Uint64(b[1:9])),
			Creation: binary.BigEndian.Uint32(b[9:13]),
		}
		n := int(binary.BigEndian.Uint16(b[13:15]))
		if len(b) < 15+n {
			return NameMessage{}, malformed("name message announces a %d-byte name, %d bytes follow", n, len(b)-15)
		}
		m.Name = string(b[15 : 15+n])
		return m, nil
	case tagLegacyName:
		if len(b) < 7 {
			return NameMessage{}, malformed("legacy name message of %d bytes is too short", len(b))
		}
		return NameMessage{
			Legacy:  true,
			Version: binary.BigEndian.Uint16(b[1:3]),
			Flags:   Flags(binary.BigEndian.Uint32(b[3:7])),
			Name:    string(b[7:]),
		}, nil
	}
	return NameMessage{}, malformed("expected a name message ('N'), got tag %q", b[0])
}

// StatusMessage is the accepting node's verdict on the initiator's name, or the initiator's
// true/false answer to "alive".
type StatusMessage struct {
	Status string
	// Name and Creation are the dynamic name and creation the acceptor assigns with StatusNamed.
	Name     string
	Creation uint32
}

// AppendStatus appends the body of m to dst.
func AppendStatus(dst []byte, m StatusMessage) []byte {
	dst = append(dst, tagStatus)
	dst = append(dst, m.Status...)
	if m.Status == StatusNamed {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(m.Name)))
		dst = append(dst, m.Name...)
		dst = binary.BigEndian.AppendUint32(dst, m.Creation)
	}
	return dst
}

// DecodeStatus decodes a status body. The status string is returned as sent; callers compare it
// with the Status constants.
func DecodeStatus(b []byte) (StatusMessage, error) {
	if len(b) == 0 || b[0] != tagStatus {
		return StatusMessage{}, malformedTag("status", 's', b)
	}
	rest := b[1:]
	if len(rest) >= len(StatusNamed) && string(rest[:len(StatusNamed)]) == StatusNamed {
		rest = rest[len(StatusNamed):]
		if len(rest) < 2 {
			return StatusMessage{}, malformed("named status without a name length")
		}
		n := int(binary.BigEndian.Uint16(rest))
		rest = rest[2:]
		if len(rest) < n+4 {
			return StatusMessage{}, malformed("named status announces a %d-byte name and a creation, %d bytes follow", n, len(rest))
		}
		return StatusMessage{
			Status:   StatusNamed,
			Name:     string(rest[:n]),
			Creation: binary.BigEndian.Uint32(rest[n : n+4]),
		}, nil
	}
	return StatusMessage{Status: string(rest)}, nil
}

// ChallengeMessage is the accepting node's introduction with its challenge (send_challenge).
type ChallengeMessage struct {
	Flags     Flags
	Challenge uint32
	Creation  uint32
	Name      string
}

// AppendChallenge appends the body of m (the version 6 form) to dst.
func AppendChallenge(dst []byte, m ChallengeMessage) []byte {
	dst = append(dst, tagName)
	dst = binary.BigEndian.AppendUint64(dst, uint64(m.Flags))
	dst = binary.BigEndian.AppendUint32(dst, m.Challenge)
	dst = binary.BigEndian.AppendUint32(dst, m.Creation)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(m.Name)))
	return append(dst, m.Name...)
}

// ErrLegacyChallenge is returned for a version 5 challenge ('n'): the peer predates OTP 23.
var ErrLegacyChallenge = errors.New("peer answered with a version 5 challenge (OTP 22 or older is not supported)")

// DecodeChallenge decodes a version 6 challenge body. Bytes after the name are ignored.
func DecodeChallenge(b []byte) (ChallengeMessage, error) {
	if len(b) > 0 && b[0] == tagLegacyName {
		return ChallengeMessage{}, ErrLegacyChallenge
	}
	if len(b) == 0 || b[0] != tagName {
		return ChallengeMessage{}, malformedTag("challenge", 'N', b)
	}
	if len(b) < 19 {
		return ChallengeMessage{}, malformed("challenge message of %d bytes is too short", len(b))
	}
	m := ChallengeMessage{
		Flags:     Flags(binary.BigEndian.Uint64(b[1:9])),
		Challenge: binary.BigEndian.Uint32(b[9:13]),
		Creation:  binary.BigEndian.Uint32(b[13:17]),
	}
	n := int(binary.BigEndian.Uint16(b[17:19]))
	if len(b) < 19+n {
		return ChallengeMessage{}, malformed("challenge message announces a %d-byte name, %d bytes follow", n, len(b)-19)
	}
	m.Name = string(b[19 : 19+n])
	return m, nil
}

// ComplementMessage completes a legacy name message: the high 32 flag bits and the creation.
type ComplementMessage struct {
	FlagsHigh uint32
	Creation  uint32
}

// AppendComplement appends the body of m to dst.
func AppendComplement(dst []byte, m ComplementMessage) []byte {
	dst = append(dst, tagComplement)
	dst = binary.BigEndian.AppendUint32(dst, m.FlagsHigh)
	return binary.BigEndian.AppendUint32(dst, m.Creation)
}

// DecodeComplement decodes a complement body.
func DecodeComplement(b []byte) (ComplementMessage, error) {
	if len(b) == 0 || b[0] != tagComplement {
		return ComplementMessage{}, malformedTag("complement", 'c', b)
	}
	if len(b) != 9 {
		return ComplementMessage{}, malformed("complement message of %d bytes, want 9", len(b))
	}
	return ComplementMessage{
		FlagsHigh: binary.BigEndian.Uint32(b[1:5]),
		Creation:  binary.BigEndian.Uint32(b[5:9]),
	}, nil
}

// ReplyMessage is the initiator's answer to the challenge with its own challenge.
type ReplyMessage struct {
	Challenge uint32
	Digest    [DigestSize]byte
}

// AppendReply appends the body of m to dst.
func AppendReply(dst []byte, m ReplyMessage) []byte {
	dst = append(dst, tagReply)
	dst = binary.BigEndian.AppendUint32(dst, m.Challenge)
	return append(dst, m.Digest[:]...)
}

// DecodeReply decodes a challenge reply body.
func DecodeReply(b []byte) (ReplyMessage, error) {
	if len(b) == 0 || b[0] != tagReply {
		return ReplyMessage{}, malformedTag("challenge reply", 'r', b)
	}
	if len(b) != 5+DigestSize {
		return ReplyMessage{}, malformed("challenge reply of %d bytes, want %d", len(b), 5+DigestSize)
	}
	m := ReplyMessage{Challenge: binary.BigEndian.Uint32(b[1:5])}
	copy(m.Digest[:], b[5:])
	return m, nil
}

// AckMessage is the accepting node's answer to the initiator's challenge.
type AckMessage struct {
	Digest [DigestSize]byte
}

// AppendAck appends the body of m to dst.
func AppendAck(dst []byte, m AckMessage) []byte {
	dst = append(dst, tagAck)
	return append(dst, m.Digest[:]...)
}

// DecodeAck decodes a challenge ack body.
func DecodeAck(b []byte) (AckMessage, error) {
	if len(b) == 0 || b[0] != tagAck {
		return AckMessage{}, malformedTag("challenge ack", 'a', b)
	}
	if len(b) != 1+DigestSize {
		return AckMessage{}, malformed("challenge ack of %d bytes, want %d", len(b), 1+DigestSize)
	}
	var m AckMessage
	copy(m.Digest[:], b[1:])
	return m, nil
}

func malformedTag(what string, want byte, b []byte) error {
	if len(b) == 0 {
		return malformed("empty message where a %s ('%c') was expected", what, want)
	}
	return malformed("expected a %s ('%c'), got tag %q", what, want, b[0])
}
