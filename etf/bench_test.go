package etf

import (
	"fmt"
	"testing"
)

// The benchmark corpus: terms shaped like what a chat service's Elixir nodes exchange.

// benchChatMessage is a chat message as an Elixir node sends it: a map with binary keys, one
// nested map, a 64-bit snowflake id, some text (about 300 bytes encoded).
func benchChatMessage() Map {
	return Map{
		{[]byte("author"), Map{
			{[]byte("avatar"), []byte("8342729096ea3675442027381ff50dfe")},
			{[]byte("bot"), false},
			{[]byte("discriminator"), []byte("0001")},
			{[]byte("id"), int64(80351110224678912)},
			{[]byte("username"), []byte("Nelly")},
		}},
		{[]byte("channel_id"), int64(290926798999357250)},
		{[]byte("content"), []byte("Supa Hot, did you see the new build? It is fast.")},
		{[]byte("edited_timestamp"), Atom("nil")},
		{[]byte("id"), int64(334385199974967042)},
		{[]byte("mentions"), List(nil)},
		{[]byte("pinned"), false},
		{[]byte("timestamp"), []byte("2017-07-11T17:27:07.299000+00:00")},
		{[]byte("tts"), false},
		{[]byte("type"), int64(0)},
	}
}

// benchGenCast is {'$gen_cast', {send, Pids, Msg}} with n pids of one remote node: a fan-out
// of one message to the sessions of a guild.
func benchGenCast(n int) Tuple {
	pids := make(List, n)
	for i := range pids {
		pids[i] = PID{Node: "chat@10.0.12.34", ID: uint64(i%32768 + 100), Creation: 1700000000}
	}
	return Tuple{Atom("$gen_cast"), Tuple{Atom("send"), pids, benchChatMessage()}}
}

// benchBigMap is a map of n binary keys to integers.
func benchBigMap(n int) Map {
	m := make(Map, n)
	for i := range m {
		m[i] = MapPair{Key: []byte(fmt.Sprintf("user:%08d", i)), Value: int64(i * 7)}
	}
	return m
}

// benchBinary is one binary of n bytes.
func benchBinary(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 31)
	}
	return b
}

var benchCorpus = []struct {
	name string
	term func() Term
}{
	{"chat_map", func() Term { return benchChatMessage() }},
	{"gen_cast_10k_pids", func() Term { return benchGenCast(10000) }},
	{"map_10k_binary_keys", func() Term { return benchBigMap(10000) }},
	{"binary_1MB", func() Term { return benchBinary(1 << 20) }},
}

func BenchmarkEncode(b *testing.B) {
	for _, c := range benchCorpus {
		b.Run(c.name, func(b *testing.B) {
			t := c.term()
			enc, err := Encode(t)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := Encode(t); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppend encodes into a reused buffer, as a connection's writer does.
func BenchmarkAppend(b *testing.B) {
	for _, c := range benchCorpus {
		b.Run(c.name, func(b *testing.B) {
			t := c.term()
			buf, err := Encode(t)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if buf, err = Append(buf[:0], t); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range benchCorpus {
		b.Run(c.name, func(b *testing.B) {
			enc, err := Encode(c.term())
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := Decode(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeAliasInput decodes with AliasInput: large binaries point into the input.
func BenchmarkDecodeAliasInput(b *testing.B) {
	d := Decoder{AliasInput: true}
	for _, c := range benchCorpus {
		b.Run(c.name, func(b *testing.B) {
			enc, err := Encode(c.term())
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := d.Decode(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
