// Package nodetest helps the tests of programs that run nodes: ports that nothing else takes
// between the pick and the test's use of them, certificate authorities for nodes that run the
// distribution over TLS, and a process (Runner) that runs test code inside a node.
//
// A test that gives its nodes an EPMD port (node.Options.EPMDPort), so that they find each
// other through the EPMD the first of them embeds, must pick a free port and let it go before a
// node listens on it. A port the system hands out for port 0 can meanwhile be handed to another
// listener that asks for port 0, a node's own distribution listener among them, and the test's
// nodes then talk EPMD to a node. Port picks outside that range.
package nodetest
