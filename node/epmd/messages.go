package epmd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Request and response tags of the EPMD protocol.
const (
	tagAlive2Req     = 120 // 'x'
	tagAlive2XResp   = 118 // 'v', 32-bit creation (distribution version 6 and later)
	tagAlive2Resp    = 121 // 'y', 16-bit creation
	tagPortPlease2   = 122 // 'z'
	tagPort2Resp     = 119 // 'w'
	tagNamesReq      = 110 // 'n'
	tagDumpReq       = 100 // 'd'
	tagKillReq       = 107 // 'k'
	tagStopReq       = 115 // 's'
	alive2XRespSize  = 6
	alive2RespSize   = 4
	maxNameBytes     = 255 * 4 // 255 UTF-8 characters
	maxExtraBytes    = 1020    // epmd's bound on the extra field
	maxRequestLength = 2 + 1 + 10 + maxNameBytes + 2 + maxExtraBytes
)

// Node types in ALIVE2_REQ and PORT2_RESP.
const (
	NodeTypeNormal byte = 77 // 'M', an Erlang node, hidden or not (erl -hidden registers so)
	NodeTypeHidden byte = 72 // 'H', what C nodes register as
)

// ProtocolTCP is the only protocol value in use (TCP, over IPv4 or IPv6).
const ProtocolTCP byte = 0

// DistVersion is the distribution protocol version of OTP 23 and later, the only one the
// handshake package speaks.
const DistVersion = 6

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed epmd message")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// NodeInfo is what a node publishes in EPMD, and what a lookup returns.
type NodeInfo struct {
	// Name is the node's alive name: the part before '@'.
	Name string
	// Port is the port the node accepts distribution connections on.
	Port uint16
	// Type is NodeTypeNormal or NodeTypeHidden.
	Type byte
	// Protocol is ProtocolTCP.
	Protocol byte
	// HighestVersion and LowestVersion bound the distribution versions the node speaks.
	HighestVersion uint16
	LowestVersion  uint16
	// Extra is opaque data the node registered along (usually empty).
	Extra []byte
}

// Supports reports whether the node speaks distribution version v.
func (n NodeInfo) Supports(v uint16) bool {
	return n.LowestVersion <= v && v <= n.HighestVersion
}

// Request is a decoded EPMD request: one of *Alive2Request, *PortPlease2Request, *NamesRequest,
// *DumpRequest, *KillRequest, *StopRequest.
type Request interface{ request() }

// Alive2Request registers a node; its connection then stays open for the node's lifetime.
type Alive2Request struct{ Node NodeInfo }

// PortPlease2Request asks for the registration of one node.
type PortPlease2Request struct{ Name string }

// NamesRequest asks for all registered names.
type NamesRequest struct{}

// DumpRequest asks for a debugging dump of the registry.
type DumpRequest struct{}

// KillRequest asks EPMD to exit.
type KillRequest struct{}

// StopRequest asks EPMD to unregister a node.
type StopRequest struct{ Name string }

func (*Alive2Request) request()      {}
func (*PortPlease2Request) request() {}
func (*NamesRequest) request()       {}
func (*DumpRequest) request()        {}
func (*KillRequest) request()        {}
func (*StopRequest) request()        {}

// AppendAlive2Request appends a complete ALIVE2_REQ (length included) to dst.
func AppendAlive2Request(dst []byte, n NodeInfo) []byte {
	return appendFramed(dst, func(b []byte) []byte {
		b = append(b, tagAlive2Req)
		b = binary.BigEndian.AppendUint16(b, n.Port)
		b = append(b, n.Type, n.Protocol)
		b = binary.BigEndian.AppendUint16(b, n.HighestVersion)
		b = binary.BigEndian.AppendUint16(b, n.LowestVersion)
		b = binary.BigEndian.AppendUint16(b, uint16(len(n.Name)))
		b = append(b, n.Name...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(n.Extra)))
		return append(b, n.Extra...)
	})
}

// AppendPortPlease2Request appends a complete PORT_PLEASE2_REQ to dst.
func AppendPortPlease2Request(dst []byte, name string) []byte {
	return appendFramed(dst, func(b []byte) []byte {
		return append(append(b, tagPortPlease2), name...)
	})
}

// AppendNamesRequest appends a complete NAMES_REQ to dst.
func AppendNamesRequest(dst []byte) []byte {
	return appendFramed(dst, func(b []byte) []byte { return append(b, tagNamesReq) })
}

func appendFramed(dst []byte, body func([]byte) []byte) []byte {
	at := len(dst)
	dst = append(dst, 0, 0)
	dst = body(dst)
	binary.BigEndian.PutUint16(dst[at:], uint16(len(dst)-at-2))
	return dst
}

// DecodeRequest decodes the body of a request (what follows its 2-byte length).
func DecodeRequest(b []byte) (Request, error) {
	if len(b) == 0 {
		return nil, malformed("empty request")
	}
	switch b[0] {
	case tagAlive2Req:
		return decodeAlive2(b)
	case tagPortPlease2:
		name := b[1:]
		// epmd tolerates a NUL terminator.
		name = bytes.TrimSuffix(name, []byte{0})
		if err := checkName(string(name)); err != nil {
			return nil, err
		}
		return &PortPlease2Request{Name: string(name)}, nil
	case tagNamesReq:
		return &NamesRequest{}, nil
	case tagDumpReq:
		return &DumpRequest{}, nil
	case tagKillReq:
		return &KillRequest{}, nil
	case tagStopReq:
		return &StopRequest{Name: string(bytes.TrimSuffix(b[1:], []byte{0}))}, nil
	}
	return nil, malformed("unknown request tag %d", b[0])
}

func decodeAlive2(b []byte) (*Alive2Request, error) {
	n, err := decodeNodeInfo("ALIVE2_REQ", b[1:])
	if err != nil {
		return nil, err
	}
	if err := checkName(n.Name); err != nil {
		return nil, err
	}
	if len(n.Extra) > maxExtraBytes {
		return nil, malformed("ALIVE2_REQ extra data of %d bytes exceeds %d", len(n.Extra), maxExtraBytes)
	}
	return &Alive2Request{Node: n}, nil
}

// decodeNodeInfo reads a node's entry as ALIVE2_REQ and PORT2_RESP carry it: port, node type,
// protocol, highest and lowest version, name and extra data. what names the message in errors.
func decodeNodeInfo(what string, b []byte) (NodeInfo, error) {
	if len(b) < 12 {
		return NodeInfo{}, malformed("%s with %d bytes of node entry is too short", what, len(b))
	}
	n := NodeInfo{
		Port:           binary.BigEndian.Uint16(b[0:2]),
		Type:           b[2],
		Protocol:       b[3],
		HighestVersion: binary.BigEndian.Uint16(b[4:6]),
		LowestVersion:  binary.BigEndian.Uint16(b[6:8]),
	}
	nlen := int(binary.BigEndian.Uint16(b[8:10]))
	if 10+nlen+2 > len(b) {
		return NodeInfo{}, malformed("%s announces a %d-byte name, %d bytes follow", what, nlen, len(b)-10)
	}
	n.Name = string(b[10 : 10+nlen])
	elen := int(binary.BigEndian.Uint16(b[10+nlen:]))
	rest := b[12+nlen:]
	if elen > len(rest) {
		return NodeInfo{}, malformed("%s announces %d bytes of extra data, %d follow", what, elen, len(rest))
	}
	if elen > 0 {
		n.Extra = append([]byte(nil), rest[:elen]...)
	}
	return n, nil
}

// checkName accepts what epmd accepts as a node name: 1-255 UTF-8 characters without NUL.
func checkName(name string) error {
	switch {
	case name == "":
		return malformed("empty node name")
	case !utf8.ValidString(name):
		return malformed("node name %q is not UTF-8", name)
	case utf8.RuneCountInString(name) > 255:
		return malformed("node name of %d characters is longer than 255", utf8.RuneCountInString(name))
	case strings.IndexByte(name, 0) >= 0:
		return malformed("node name %q contains NUL", name)
	}
	return nil
}

// Alive2Response answers ALIVE2_REQ.
type Alive2Response struct {
	// Result is 0 on success; epmd answers 1 when the name is taken or invalid.
	Result byte
	// Creation is the creation EPMD assigned to the registration.
	Creation uint32
	// Extended selects ALIVE2_X_RESP (32-bit creation), sent to nodes whose highest
	// distribution version is 6 or more; otherwise ALIVE2_RESP (16-bit creation).
	Extended bool
}

// AppendAlive2Response appends r to dst.
func AppendAlive2Response(dst []byte, r Alive2Response) []byte {
	if r.Extended {
		dst = append(dst, tagAlive2XResp, r.Result)
		return binary.BigEndian.AppendUint32(dst, r.Creation)
	}
	dst = append(dst, tagAlive2Resp, r.Result)
	return binary.BigEndian.AppendUint16(dst, uint16(r.Creation))
}

// alive2ResponseSize returns the size of the response whose tag is tag, or 0 if tag is not one.
func alive2ResponseSize(tag byte) int {
	switch tag {
	case tagAlive2XResp:
		return alive2XRespSize
	case tagAlive2Resp:
		return alive2RespSize
	}
	return 0
}

// DecodeAlive2Response decodes a complete ALIVE2_X_RESP or ALIVE2_RESP.
func DecodeAlive2Response(b []byte) (Alive2Response, error) {
	if len(b) == 0 {
		return Alive2Response{}, malformed("empty ALIVE2 response")
	}
	size := alive2ResponseSize(b[0])
	if size == 0 {
		return Alive2Response{}, malformed("tag %d is not an ALIVE2 response", b[0])
	}
	if len(b) != size {
		return Alive2Response{}, malformed("ALIVE2 response of %d bytes, want %d", len(b), size)
	}
	if b[0] == tagAlive2XResp {
		return Alive2Response{Result: b[1], Creation: binary.BigEndian.Uint32(b[2:]), Extended: true}, nil
	}
	return Alive2Response{Result: b[1], Creation: uint32(binary.BigEndian.Uint16(b[2:]))}, nil
}

// Port2Response answers PORT_PLEASE2_REQ.
type Port2Response struct {
	// Result is 0 when the node was found; then Node describes it.
	Result byte
	Node   NodeInfo
}

// AppendPort2Response appends r to dst: only [119, Result] when Result is not 0.
func AppendPort2Response(dst []byte, r Port2Response) []byte {
	dst = append(dst, tagPort2Resp, r.Result)
	if r.Result != 0 {
		return dst
	}
	n := r.Node
	dst = binary.BigEndian.AppendUint16(dst, n.Port)
	dst = append(dst, n.Type, n.Protocol)
	dst = binary.BigEndian.AppendUint16(dst, n.HighestVersion)
	dst = binary.BigEndian.AppendUint16(dst, n.LowestVersion)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(n.Name)))
	dst = append(dst, n.Name...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(n.Extra)))
	return append(dst, n.Extra...)
}

// DecodePort2Response decodes a complete PORT2_RESP (EPMD closes the connection after it).
func DecodePort2Response(b []byte) (Port2Response, error) {
	if len(b) < 2 || b[0] != tagPort2Resp {
		return Port2Response{}, malformed("not a PORT2_RESP (% x)", b[:min(len(b), 2)])
	}
	r := Port2Response{Result: b[1]}
	if r.Result != 0 {
		return r, nil
	}
	n, err := decodeNodeInfo("PORT2_RESP", b[2:])
	if err != nil {
		return Port2Response{}, err
	}
	r.Node = n
	return r, nil
}

// NameEntry is one line of a NAMES response.
type NameEntry struct {
	Name string
	Port uint16
}

// AppendNamesResponse appends a NAMES response: EPMD's own port, then one line per node in the
// format erl_epmd parses.
func AppendNamesResponse(dst []byte, epmdPort uint32, entries []NameEntry) []byte {
	dst = binary.BigEndian.AppendUint32(dst, epmdPort)
	for _, e := range entries {
		dst = append(dst, "name "...)
		dst = append(dst, e.Name...)
		dst = append(dst, " at port "...)
		dst = strconv.AppendUint(dst, uint64(e.Port), 10)
		dst = append(dst, '\n')
	}
	return dst
}

// DecodeNamesResponse decodes a complete NAMES response.
func DecodeNamesResponse(b []byte) (epmdPort uint32, entries []NameEntry, err error) {
	if len(b) < 4 {
		return 0, nil, malformed("NAMES response of %d bytes is too short", len(b))
	}
	epmdPort = binary.BigEndian.Uint32(b)
	text := string(b[4:])
	for text != "" {
		line, rest, ok := strings.Cut(text, "\n")
		if !ok {
			return 0, nil, malformed("unterminated line %q in NAMES response", line)
		}
		text = rest
		e, err := parseNameLine(line)
		if err != nil {
			return 0, nil, err
		}
		entries = append(entries, e)
	}
	return epmdPort, entries, nil
}

// parseNameLine parses "name NAME at port PORT"; a name may itself contain spaces.
func parseNameLine(line string) (NameEntry, error) {
	body, ok := strings.CutPrefix(line, "name ")
	i := strings.LastIndex(body, " at port ")
	if !ok || i < 0 {
		return NameEntry{}, malformed("unexpected line %q in NAMES response", line)
	}
	port, err := strconv.ParseUint(body[i+len(" at port "):], 10, 16)
	if err != nil {
		return NameEntry{}, malformed("bad port in NAMES line %q", line)
	}
	return NameEntry{Name: body[:i], Port: uint16(port)}, nil
}
