#!/usr/bin/env escript
%% Prints the test vectors of decode_test.go: one line per term, tab-separated:
%%   name, erlang:term_to_binary(T) in hex, term_to_binary(T, [{minor_version, 2}]) in hex,
%%   the Erlang expression.
%% Lines for hand-made inputs (?B) hold the input as the first hex and, as the second,
%% term_to_binary(binary_to_term(Input), [{minor_version, 2}]), or "error" when binary_to_term
%% refuses the input.
%% Regenerate with: escript gen_codec_vectors.escript > codec_vectors.txt
%% Pids, ports and references of this node change from run to run; decode_test.go holds the
%% values decoded from the stored bytes.
-mode(compile).

-define(T(Name, Expr), {Name, ??Expr, fun() -> Expr end}).
-define(C(Name, Expr), {Name, ??Expr, fun() -> Expr end, compressed}).
-define(B(Name, Bytes), {Name, ??Bytes, Bytes, bytes}).

main(_) ->
    {ok, Mod, Beam} = compile:forms(fun_module(), []),
    {module, Mod} = code:load_binary(Mod, "etf_vec.erl", Beam),
    ok = io:setopts([{encoding, unicode}]),
    lists:foreach(fun emit/1, vectors()).

fun_module() ->
    Src = ["-module(etf_vec).",
           "-export([adder/1, pair/2, noenv/0]).",
           "adder(Y) -> fun(X) -> X + Y end.",
           "pair(A, B) -> fun() -> {A, B} end.",
           "noenv() -> fun(X) -> X end."],
    [begin {ok, Ts, _} = erl_scan:string(S), {ok, F} = erl_parse:parse_form(Ts), F end || S <- Src].

emit({Name, Src, F}) ->
    T = F(),
    line(Name, term_to_binary(T), term_to_binary(T, [{minor_version, 2}]), Src);
emit({Name, Src, F, compressed}) ->
    T = F(),
    line(Name, term_to_binary(T, [compressed]), term_to_binary(T, [compressed, {minor_version, 2}]), Src);
emit({Name, Src, Bytes, bytes}) ->
    V2 = try term_to_binary(binary_to_term(Bytes), [{minor_version, 2}])
         catch error:badarg -> error
         end,
    line(Name, Bytes, V2, Src).

line(Name, V1, V2, Src) ->
    io:format("~s\t~s\t~s\t~ts~n", [Name, hex(V1), hex(V2), lists:flatten(string:replace(Src, "\t", " ", all))]).

hex(error) -> "error";
hex(B) -> binary:encode_hex(B).

pid(Node, Id, Serial, Creation) ->
    N = atom_to_binary(Node, utf8),
    binary_to_term(<<131, 88, 119, (byte_size(N)), N/binary, Id:32, Serial:32, Creation:32>>).

port(Node, Id, Creation) ->
    N = atom_to_binary(Node, utf8),
    binary_to_term(<<131, 120, 119, (byte_size(N)), N/binary, Id:64, Creation:32>>).

ref(Node, Creation, Words) ->
    N = atom_to_binary(Node, utf8),
    W = << <<X:32>> || X <- Words >>,
    binary_to_term(<<131, 90, (length(Words)):16, 119, (byte_size(N)), N/binary, Creation:32, W/binary>>).

%% A closure of the Erlang shell's evaluator: a fun of erl_eval whose free variables hold the
%% bindings and the abstract code.
eval_fun() ->
    {ok, Ts, _} = erl_scan:string("fun(X) -> {X, Y, <<\"z\">>} end."),
    {ok, [E]} = erl_parse:parse_exprs(Ts),
    {value, F, _} = erl_eval:expr(E, erl_eval:add_binding('Y', 3, erl_eval:new_bindings())),
    F.

vectors() ->
    [?T("small_int_0", 0),
     ?T("small_int_255", 255),
     ?T("int_256", 256),
     ?T("int_neg1", -1),
     ?T("int_max32", 2147483647),
     ?T("int_min32", -2147483648),
     ?T("big_2p31", 2147483648),
     ?T("big_neg_2p31_1", -2147483649),
     ?T("big_max64", 9223372036854775807),
     ?T("big_min64", -9223372036854775808),
     ?T("big_2p63", 9223372036854775808),
     ?T("big_neg_2p63_1", -9223372036854775809),
     ?T("big_max_u64", 18446744073709551615),
     ?T("big_2p64", 18446744073709551616),
     ?T("big_255_bytes", (1 bsl 2040) - 1),
     ?T("large_big_2p2040", 1 bsl 2040),
     ?T("large_big_neg", -(1 bsl 2100) - 12345),
     ?T("float_1", 1.0),
     ?T("float_neg0", -0.0),
     ?T("float_0", 0.0),
     ?T("float_pi", 3.141592653589793),
     ?T("float_1e300", 1.0e300),
     ?T("float_denormal", 5.0e-324),
     ?T("float_neg", -1.5),
     ?T("atom_a", a),
     ?T("atom_space", 'hello world'),
     ?T("atom_empty", ''),
     ?T("atom_latin1_y", 'ÿ'),
     ?T("atom_latin1_word", 'héllo'),
     ?T("atom_utf8_cjk", '日本'),
     ?T("atom_utf8_emoji", '😀'),
     ?T("atom_true", true),
     ?T("atom_false", false),
     ?T("atom_nil", nil),
     ?T("atom_255_ascii", list_to_atom(lists:duplicate(255, $a))),
     ?T("atom_255_latin1", list_to_atom(lists:duplicate(255, $é))),
     ?T("atom_255_cjk", list_to_atom(lists:duplicate(255, 26085))),
     ?T("binary_empty", <<>>),
     ?T("binary_abc", <<"abc">>),
     ?T("binary_utf8", <<"héllo"/utf8>>),
     ?T("bits_1_3", <<1:3>>),
     ?T("bits_255_1_1", <<255, 1:1>>),
     ?T("bits_0_7", <<0:7>>),
     ?T("nil", []),
     ?T("string_abc", "abc"),
     ?T("string_latin1", "héllo"),
     ?T("list_unicode", "日本"),
     ?T("list_improper_1_2", [1|2]),
     ?T("list_improper_a_b", [a|b]),
     ?T("list_improper_12_3", [1, 2|3]),
     ?T("list_improper_bin_tail", [1|<<"x">>]),
     ?T("list_atoms", [a, b]),
     ?T("list_ints", [1, 2, 300]),
     ?T("list_nested_nil", [[]]),
     ?T("list_mixed", [1, "x", {}, <<>>, 2.5]),
     ?T("list_seq_300", lists:seq(1, 300)),
     ?T("tuple_empty", {}),
     ?T("tuple_1", {a}),
     ?T("tuple_3", {1, 2, 3}),
     ?T("tuple_256", list_to_tuple(lists:seq(1, 256))),
     ?T("map_empty", #{}),
     ?T("map_atom", #{a => 1}),
     ?T("map_binary_key", #{<<"str">> => 1}),
     ?T("map_compound_keys", #{{1, 2} => x, [1] => y, #{a => 1} => z, "ab" => w}),
     ?T("map_1_vs_1_0", #{1 => a, 1.0 => b}),
     ?T("map_nested", #{<<"user">> => #{<<"id">> => 42, <<"name">> => <<"jo">>}, <<"tags">> => [<<"a">>]}),
     ?T("map_large_40", maps:from_list([{K, K * K} || K <- lists:seq(1, 40)])),
     ?T("map_elixir_struct", #{'__struct__' => 'Elixir.MyApp.User', name => <<"jo">>, age => 7}),
     ?T("pid_self", self()),
     ?T("pid_remote", pid('other@host', 5, 7, 16#12345678)),
     ?T("pid_remote_v4", pid('other@host', 16#FFFFFFFF, 16#ABCDEF01, 3)),
     ?T("pid_remote_utf8_node", pid('nödé@host', 1, 0, 1)),
     ?T("port_local", hd(erlang:ports())),
     ?T("port_remote", port('other@host', 42, 9)),
     ?T("port_remote_v4", port('other@host', 16#123456789A, 9)),
     ?T("ref_local", make_ref()),
     ?T("ref_alias", alias()),
     ?T("ref_remote_3", ref('other@host', 77, [1, 2, 3])),
     ?T("ref_remote_5", ref('other@host', 77, [16#FFFFFFFF, 2, 3, 4, 5])),
     ?T("ref_remote_4", ref('other@host', 77, [9, 8, 7, 6])),
     ?T("ref_remote_1", ref('other@host', 77, [3])),
     ?T("fun_export", fun lists:map/2),
     ?T("fun_export_unicode", fun 'mödule':'fün'/3),
     ?T("fun_compiled_noenv", etf_vec:noenv()),
     ?T("fun_compiled_free_var", etf_vec:adder(7)),
     ?T("fun_compiled_two_free_vars", etf_vec:pair(<<"x">>, [self()])),
     ?T("fun_erl_eval", eval_fun()),
     ?T("gen_cast_send", {'$gen_cast', {send, [pid('chat@host', 1, 0, 5), pid('chat@host', 2, 0, 5)], #{<<"k">> => <<"v">>}}}),
     ?T("improper_nested", [[1|2]|[3|4]]),
     ?C("compressed_binary", binary:copy(<<"ab">>, 100)),
     ?C("compressed_tuple", {lists:duplicate(50, hello), lists:seq(1, 50)}),
     ?C("compressed_small", 1),
     %% Forms BEAM nodes no longer write but still read.
     ?B("old_pid_ext", <<131, 103, 100, 0, 3, "a@b", 0, 0, 0, 1, 0, 0, 0, 2, 3>>),
     ?B("old_port_ext", <<131, 102, 100, 0, 3, "a@b", 0, 0, 0, 5, 2>>),
     ?B("old_reference_ext", <<131, 101, 100, 0, 3, "a@b", 0, 0, 0, 7, 1>>),
     ?B("old_new_reference_ext", <<131, 114, 0, 3, 100, 0, 3, "a@b", 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3>>),
     ?B("old_float_ext", <<131, 99, "1.50000000000000000000e+00", 0, 0, 0, 0, 0>>),
     ?B("old_float_ext_short", <<131, 99, "-2.5", 0:27/unit:8>>),
     ?B("old_small_atom_ext", <<131, 115, 3, "abc">>),
     ?B("old_small_atom_ext_latin1", <<131, 115, 2, 104, 233>>),
     ?B("atom_utf8_ext_short", <<131, 118, 0, 1, "a">>),
     ?B("string_ext_empty", <<131, 107, 0, 0>>),
     ?B("integer_ext_small_value", <<131, 98, 0, 0, 0, 5>>),
     ?B("small_big_not_minimal", <<131, 110, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0>>),
     ?B("small_big_neg_zero", <<131, 110, 1, 1, 0>>),
     ?B("small_big_no_digits", <<131, 110, 0, 0>>),
     ?B("small_big_sign_2", <<131, 110, 1, 2, 5>>),
     ?B("large_big_small_value", <<131, 111, 0, 0, 0, 1, 0, 5>>),
     ?B("large_tuple_small", <<131, 105, 0, 0, 0, 1, 97, 1>>),
     ?B("list_tail_list", <<131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2, 106>>),
     ?B("list_tail_string", <<131, 108, 0, 0, 0, 1, 97, 1, 107, 0, 2, 1, 2>>),
     ?B("list_tail_improper", <<131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2, 97, 3>>),
     ?B("list_empty_with_tail", <<131, 108, 0, 0, 0, 0, 97, 1>>),
     ?B("list_empty_nil_tail", <<131, 108, 0, 0, 0, 0, 106>>),
     ?B("bit_binary_garbage_bits", <<131, 77, 0, 0, 0, 1, 3, 255>>),
     ?B("bit_binary_8_bits", <<131, 77, 0, 0, 0, 1, 8, 255>>),
     ?B("bit_binary_empty", <<131, 77, 0, 0, 0, 0, 0>>),
     ?B("export_arity_integer_ext", <<131, 113, 119, 1, "m", 119, 1, "f", 98, 0, 0, 0, 1>>),
     ?B("pid_node_true", <<131, 88, 119, 4, "true", 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1>>),
     ?B("order_map_unsorted", <<131, 116, 0, 0, 0, 2, 119, 1, "b", 97, 1, 119, 1, "a", 97, 2>>),
     %% Inputs binary_to_term refuses; Decode must refuse them too.
     ?B("bad_atom_ext_256", <<131, 100, 1, 0, (binary:copy(<<"a">>, 256))/binary>>),
     ?B("bad_atom_utf8_256_chars", <<131, 118, 1, 0, (binary:copy(<<"a">>, 256))/binary>>),
     ?B("bad_atom_utf8_invalid", <<131, 119, 1, 255>>),
     ?B("bad_atom_utf8_overlong", <<131, 119, 2, 192, 128>>),
     ?B("bad_atom_utf8_surrogate", <<131, 119, 3, 237, 160, 128>>),
     ?B("bad_bit_binary_empty_3_bits", <<131, 77, 0, 0, 0, 0, 3>>),
     ?B("bad_bit_binary_0_bits", <<131, 77, 0, 0, 0, 1, 0, 255>>),
     ?B("bad_bit_binary_9_bits", <<131, 77, 0, 0, 0, 1, 9, 255>>),
     ?B("bad_float_nan", <<131, 70, 127, 248, 0, 0, 0, 0, 0, 0>>),
     ?B("bad_float_inf", <<131, 70, 127, 240, 0, 0, 0, 0, 0, 0>>),
     ?B("bad_old_float_inf", <<131, 99, "inf", 0:28/unit:8>>),
     ?B("bad_old_float_junk", <<131, 99, "1.5xyz", 0:25/unit:8>>),
     ?B("bad_reference_6_words", <<131, 90, 0, 6, 119, 1, "a", 0, 0, 0, 1, 0:(6 * 32)>>),
     ?B("bad_pid_ext_creation_255", <<131, 103, 119, 1, "a", 0, 0, 0, 1, 0, 0, 0, 0, 255>>),
     ?B("bad_pid_node_integer", <<131, 88, 97, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1>>),
     ?B("bad_export_arity_negative", <<131, 113, 119, 1, "m", 119, 1, "f", 98, 255, 255, 255, 255>>),
     ?B("bad_list_length", <<131, 108, 255, 255, 255, 255, 106>>),
     ?B("bad_tuple_truncated", <<131, 104, 2, 97, 1>>),
     ?B("bad_map_duplicate_binary", <<131, 116, 0, 0, 0, 2, 109, 0, 0, 0, 1, "a", 97, 1, 109, 0, 0, 0, 1, "a", 97, 2>>),
     ?B("bad_map_duplicate_string_list", <<131, 116, 0, 0, 0, 2, 107, 0, 1, 1, 97, 1, 108, 0, 0, 0, 1, 97, 1, 106, 97, 2>>),
     ?B("bad_map_duplicate_atom_forms", <<131, 116, 0, 0, 0, 2, 100, 0, 1, "a", 97, 1, 119, 1, "a", 97, 2>>),
     ?B("bad_map_duplicate_int_forms", <<131, 116, 0, 0, 0, 2, 97, 1, 97, 1, 98, 0, 0, 0, 1, 97, 2>>),
     ?B("bad_map_duplicate_map_keys", <<131, 116, 0, 0, 0, 2, 116, 0, 0, 0, 2, 119, 1, "a", 97, 1, 119, 1, "b", 97, 2, 106,
                                         116, 0, 0, 0, 2, 119, 1, "b", 97, 2, 119, 1, "a", 97, 1, 106>>),
     ?B("bad_compressed_size_plus_1", <<131, 80, 0, 0, 0, 206, 120, 156, 203, 101, 96, 96, 56, 145, 152, 52, 60, 32, 0, 221, 244, 77, 98>>),
     ?B("bad_compressed_size_minus_1", <<131, 80, 0, 0, 0, 204, 120, 156, 203, 101, 96, 96, 56, 145, 152, 52, 60, 32, 0, 221, 244, 77, 98>>),
     ?B("bad_compressed_in_compressed", <<131, 80, 0, 0, 0, 3, (zlib:compress(<<80, 0, 0>>))/binary>>),
     ?B("bad_fun_ext_removed", <<131, 117, 0, 0, 0, 0, 88, 119, 1, "a", 0:96, 119, 1, "m", 97, 0, 97, 0>>),
     ?B("bad_unknown_tag", <<131, 1>>),
     ?B("bad_version", <<130, 97, 1>>),
     ?B("bad_empty", <<>>)].
