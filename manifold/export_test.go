package manifold

// SetQueuedBytesLimit sets the bound on the casts waiting for connections of all nodes
// together, and returns the function that puts it back.
func SetQueuedBytesLimit(n int) (restore func()) {
	old := queuedBytesLimit
	queuedBytesLimit = n
	return func() { queuedBytesLimit = old }
}

// MaxDials is how many dials run at once.
const MaxDials = maxDials
