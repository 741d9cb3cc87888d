// Package elixir holds Elixir source for BEAM nodes that take part in this project's tests and
// demo: GobeamManifold, Manifold's wire behaviour (sending side and receiving side, both cast
// shapes, pack_mode binary, offload) written for this project, and receivers that check what
// they get. Real deployments run Discord's Manifold library instead.
package elixir

import "embed"

// Sources are the .ex files, to load into an Elixir node (erlpeer's LoadFS, or Code.compile_file).
//
//go:embed *.ex
var Sources embed.FS

// ManifoldFile is the name of the GobeamManifold source in Sources.
const ManifoldFile = "gobeam_manifold.ex"
