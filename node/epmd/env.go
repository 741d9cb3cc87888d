package epmd

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// DefaultPort is EPMD's well-known port.
const DefaultPort = 4369

// PortFromEnv returns the EPMD port in use: ERL_EPMD_PORT when it holds a valid port, as erl
// and epmd read it, DefaultPort otherwise.
func PortFromEnv() uint16 {
	if v := os.Getenv("ERL_EPMD_PORT"); v != "" {
		if p, err := strconv.ParseUint(strings.TrimSpace(v), 10, 16); err == nil && p != 0 {
			return uint16(p)
		}
	}
	return DefaultPort
}

// SplitNodeName splits "name@host" into the alive name EPMD knows and the host whose EPMD to
// ask.
func SplitNodeName(node string) (name, host string, err error) {
	name, host, ok := strings.Cut(node, "@")
	if !ok || name == "" || host == "" || strings.Contains(host, "@") {
		return "", "", fmt.Errorf("epmd: node name %q is not name@host", node)
	}
	return name, host, nil
}
