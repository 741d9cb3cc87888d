package etf

// The bytes that open an encoded term and each of its parts. The names are those of the External
// Term Format chapter of the ERTS User's Guide, minus the _EXT suffix.
const (
	// versionByte opens every term made by term_to_binary and every term read by binary_to_term.
	// Terms that follow a distribution header leave it out.
	versionByte byte = 131

	tagCompressed byte = 80 // 80 = 'P'; zlib-compressed term, only right after versionByte

	tagNewFloat       byte = 70  // 8-byte IEEE-754 double, big-endian
	tagBitBinary      byte = 77  // binary whose last byte holds 1..8 bits
	tagAtomCacheRef   byte = 82  // index into the distribution header's atom cache
	tagNewPid         byte = 88  // pid with 32-bit creation
	tagNewPort        byte = 89  // port with 32-bit id and 32-bit creation
	tagNewerReference byte = 90  // reference with 32-bit creation
	tagSmallInteger   byte = 97  // unsigned 8-bit integer
	tagInteger        byte = 98  // signed 32-bit integer
	tagFloat          byte = 99  // 31-byte "%.20e" text; superseded by tagNewFloat
	tagAtom           byte = 100 // Latin-1 atom, 2-byte length
	tagReference      byte = 101 // one-word reference with 8-bit creation
	tagPort           byte = 102 // port with 8-bit creation
	tagPid            byte = 103 // pid with 8-bit creation
	tagSmallTuple     byte = 104 // tuple, 1-byte arity
	tagLargeTuple     byte = 105 // tuple, 4-byte arity
	tagNil            byte = 106 // []
	tagString         byte = 107 // list of bytes, 2-byte length
	tagList           byte = 108 // list, 4-byte length, elements, tail
	tagBinary         byte = 109 // binary, 4-byte length
	tagSmallBig       byte = 110 // integer, 1-byte digit count, sign, little-endian digits
	tagLargeBig       byte = 111 // integer, 4-byte digit count
	tagNewFun         byte = 112 // closure
	tagExport         byte = 113 // fun M:F/A
	tagNewReference   byte = 114 // reference with 8-bit creation
	tagSmallAtom      byte = 115 // Latin-1 atom, 1-byte length
	tagMap            byte = 116 // map, 4-byte pair count
	tagAtomUTF8       byte = 118 // UTF-8 atom, 2-byte length
	tagSmallAtomUTF8  byte = 119 // UTF-8 atom, 1-byte length
	tagV4Port         byte = 120 // port with 64-bit id
	tagLocal          byte = 121 // term_to_binary(T, [local]) only; never sent between nodes
	tagFunRemoved     byte = 117 // FUN_EXT: not emitted since R8, not decoded since OTP 23
)

// tagName names a tag for error messages.
func tagName(tag byte) string {
	switch tag {
	case tagCompressed:
		return "compressed term"
	case tagNewFloat:
		return "NEW_FLOAT_EXT"
	case tagBitBinary:
		return "BIT_BINARY_EXT"
	case tagAtomCacheRef:
		return "ATOM_CACHE_REF"
	case tagNewPid:
		return "NEW_PID_EXT"
	case tagNewPort:
		return "NEW_PORT_EXT"
	case tagNewerReference:
		return "NEWER_REFERENCE_EXT"
	case tagSmallInteger:
		return "SMALL_INTEGER_EXT"
	case tagInteger:
		return "INTEGER_EXT"
	case tagFloat:
		return "FLOAT_EXT"
	case tagAtom:
		return "ATOM_EXT"
	case tagReference:
		return "REFERENCE_EXT"
	case tagPort:
		return "PORT_EXT"
	case tagPid:
		return "PID_EXT"
	case tagSmallTuple:
		return "SMALL_TUPLE_EXT"
	case tagLargeTuple:
		return "LARGE_TUPLE_EXT"
	case tagNil:
		return "NIL_EXT"
	case tagString:
		return "STRING_EXT"
	case tagList:
		return "LIST_EXT"
	case tagBinary:
		return "BINARY_EXT"
	case tagSmallBig:
		return "SMALL_BIG_EXT"
	case tagLargeBig:
		return "LARGE_BIG_EXT"
	case tagNewFun:
		return "NEW_FUN_EXT"
	case tagExport:
		return "EXPORT_EXT"
	case tagNewReference:
		return "NEW_REFERENCE_EXT"
	case tagSmallAtom:
		return "SMALL_ATOM_EXT"
	case tagMap:
		return "MAP_EXT"
	case tagAtomUTF8:
		return "ATOM_UTF8_EXT"
	case tagSmallAtomUTF8:
		return "SMALL_ATOM_UTF8_EXT"
	case tagV4Port:
		return "V4_PORT_EXT"
	case tagLocal:
		return "LOCAL_EXT"
	case tagFunRemoved:
		return "FUN_EXT"
	}
	return ""
}
