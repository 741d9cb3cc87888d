package global

import (
	"slices"
	"sync"

	"ergo.services/ergo/gen"

	"github.com/gobeam/gobeam/etf"
)

// tables are what global keeps in ETS on BEAM: the global names, the locks, and the node sets
// that other processes read. Only the name server writes them; the locker, the resolvers, the
// registrar and the Go API read them, as they read global's protected tables on BEAM.
type tables struct {
	mu sync.RWMutex
	// names: global_names (Name -> Pid, Method) and global_names_ext (RegNode).
	names termMap[*nameEntry]
	// pidNames counts the names of each pid (global_pid_names).
	pidNames map[gen.PID]int
	// locks: global_locks, by resource id.
	locks termMap[*lockEntry]
	// known and synced mirror the server's state for get_known/0 and the Go API.
	known  []gen.Atom
	synced []gen.Atom
}

type nameEntry struct {
	Name   etf.Term
	Pid    gen.PID
	Method etf.Term
	// RegNode is the node that registered the name with register_name_external; empty for
	// ordinary names.
	RegNode gen.Atom
}

type lockEntry struct {
	Resource  etf.Term
	Requester etf.Term
	// Holders are the processes that set the lock, each once.
	Holders []gen.PID
}

func newTables() *tables { return &tables{pidNames: make(map[gen.PID]int)} }

// lookup returns the entry of a name.
func (t *tables) lookup(name etf.Term) (nameEntry, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	e, ok := t.names.get(name)
	if !ok {
		return nameEntry{}, false
	}
	return *e, true
}

// nameList returns every name as {Name, Pid, Method} (global's get_names/0).
func (t *tables) nameList() []nameInfo {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]nameInfo, 0, t.names.len())
	t.names.each(func(_ etf.Term, e *nameEntry) {
		out = append(out, nameInfo{Name: e.Name, Pid: e.Pid, Method: e.Method})
	})
	return out
}

// extList returns the names registered externally (global's get_names_ext/0).
func (t *tables) extList() []extName {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []extName
	t.names.each(func(_ etf.Term, e *nameEntry) {
		if e.RegNode != "" {
			out = append(out, extName{Name: e.Name, Pid: e.Pid, RegNode: e.RegNode})
		}
	})
	return out
}

func (t *tables) hasNames(pid gen.PID) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.pidNames[pid] > 0
}

// namesOf returns the names a pid is registered under.
func (t *tables) namesOf(pid gen.PID) []etf.Term {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.pidNames[pid] == 0 {
		return nil
	}
	var out []etf.Term
	t.names.each(func(k etf.Term, e *nameEntry) {
		if e.Pid == pid {
			out = append(out, k)
		}
	})
	return out
}

// insertName adds or replaces a name; it returns the entry it replaced.
func (t *tables) insertName(e nameEntry) (nameEntry, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old, had := t.names.get(e.Name)
	var prev nameEntry
	if had {
		prev = *old
		t.decPid(old.Pid)
	}
	t.names.put(e.Name, &e)
	t.pidNames[e.Pid]++
	return prev, had
}

// deleteName removes a name and returns its entry.
func (t *tables) deleteName(name etf.Term) (nameEntry, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.names.delete(name)
	if !ok {
		return nameEntry{}, false
	}
	t.decPid(e.Pid)
	return *e, true
}

func (t *tables) decPid(pid gen.PID) {
	if t.pidNames[pid] <= 1 {
		delete(t.pidNames, pid)
	} else {
		t.pidNames[pid]--
	}
}

// canSetLock is global's can_set_lock/1: whether the lock id may be set here, and who holds
// it now. A resource is held by one requester at a time; the same requester may set it from
// several processes.
func (t *tables) canSetLock(id lockID) ([]gen.PID, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	l, ok := t.locks.get(id.Resource)
	if !ok {
		return nil, true
	}
	if !etf.Equal(l.Requester, id.Requester) {
		return nil, false
	}
	return slices.Clone(l.Holders), true
}

func (t *tables) isLockSet(resource etf.Term) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	_, ok := t.locks.get(resource)
	return ok
}

// lock returns the lock on a resource.
func (t *tables) lock(resource etf.Term) (lockEntry, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	l, ok := t.locks.get(resource)
	if !ok {
		return lockEntry{}, false
	}
	return lockEntry{Resource: l.Resource, Requester: l.Requester, Holders: slices.Clone(l.Holders)}, true
}

// addHolder records that pid set the lock id (whose requester may hold it: see canSetLock).
func (t *tables) addHolder(id lockID, pid gen.PID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l, ok := t.locks.get(id.Resource)
	if !ok {
		t.locks.put(id.Resource, &lockEntry{Resource: id.Resource, Requester: id.Requester, Holders: []gen.PID{pid}})
		return
	}
	if !slices.Contains(l.Holders, pid) {
		l.Holders = append([]gen.PID{pid}, l.Holders...)
	}
}

// removeHolder drops pid from the lock on resource; the lock goes when its last holder does.
// It reports whether pid held it and whether the lock is now gone.
func (t *tables) removeHolder(resource etf.Term, pid gen.PID) (held, gone bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l, ok := t.locks.get(resource)
	if !ok {
		return false, false
	}
	i := slices.Index(l.Holders, pid)
	if i < 0 {
		return false, false
	}
	if len(l.Holders) == 1 {
		t.locks.delete(resource)
		return true, true
	}
	l.Holders = slices.Delete(l.Holders, i, i+1)
	return true, false
}

// locksHeldBy returns the resources pid holds locks on.
func (t *tables) locksHeldBy(pid gen.PID) []lockEntry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []lockEntry
	t.locks.each(func(_ etf.Term, l *lockEntry) {
		if slices.Contains(l.Holders, pid) {
			out = append(out, lockEntry{Resource: l.Resource, Requester: l.Requester})
		}
	})
	return out
}

// pidsOn returns every pid of node that holds a name or a lock (global_node_resources).
func (t *tables) pidsOn(node gen.Atom) []gen.PID {
	t.mu.RLock()
	defer t.mu.RUnlock()
	seen := make(map[gen.PID]struct{})
	for pid := range t.pidNames {
		if pid.Node == node {
			seen[pid] = struct{}{}
		}
	}
	t.locks.each(func(_ etf.Term, l *lockEntry) {
		for _, pid := range l.Holders {
			if pid.Node == node {
				seen[pid] = struct{}{}
			}
		}
	})
	out := make([]gen.PID, 0, len(seen))
	for pid := range seen {
		out = append(out, pid)
	}
	return out
}

func (t *tables) setNodes(known, synced []gen.Atom) {
	t.mu.Lock()
	t.known, t.synced = known, synced
	t.mu.Unlock()
}

func (t *tables) knownNodes() []gen.Atom {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return slices.Clone(t.known)
}

func (t *tables) syncedNodes() []gen.Atom {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return slices.Clone(t.synced)
}
