%% Random Erlang terms for the etf integration tests, and the checks of what Go made of them.
%%
%% batch/3 builds terms of every type the external term format carries, nested, and returns each
%% as term_to_binary/2 writes it with randomly chosen options. check/2 takes those bytes back with
%% Go's result for each (its re-encoding and its phash2 values) and reports every difference from
%% what this node computes. The terms depend only on the seed and the batch index, so a failure
%% reproduces from the seed the test prints.
-module(gobeam_etf_gen).

-export([batch/3, check/2, ranges/0, identity_vectors/0, check_go_values/1]).
-export([pid/4, ref/3, port/3]).

%% The ranges of erlang:phash2/2 that Go's values are checked for; Go adds phash2/1's value.
-define(RANGES, [1, 7, 8, 32, 33, 1 bsl 27, 1 bsl 32]).
%% How much of a failing term a report prints.
-define(PRINT_LIMIT, 3000).
%% How many failures of one batch are reported in full (the smallest ones).
-define(REPORT_LIMIT, 10).

ranges() -> ?RANGES.

%%% Batches

%% batch(Seed, Index, Count) -> [binary()]
batch(Seed, Index, Count) ->
    _ = rand:seed(exsss, {Seed, Index, 16#E7F}),
    Specials = case Index of
                   0 -> specials();
                   _ -> []
               end,
    Terms = Specials ++ [term(rand:uniform(5) - 1) || _ <- lists:seq(1, max(0, Count - length(Specials)))],
    [encode(T) || T <- Terms].

encode(T) ->
    Opts = pick([[], [], [], [], [compressed], [{compressed, 9}], [{compressed, 1}, {minor_version, 1}],
                 [{minor_version, 0}], [{minor_version, 1}], [{minor_version, 2}], [deterministic]]),
    term_to_binary(T, Opts).

%% Terms that random choice would rarely make, in every first batch.
specials() ->
    [[], {}, #{}, <<>>, "", 0, -1, 255, 256, 1 bsl 27, -(1 bsl 27), (1 bsl 27) - 1, -(1 bsl 27) - 1,
     0.0, neg_zero(), 1.0, 5.0e-324, 1.7976931348623157e308,
     '', 'ÿ', 'Ā', list_to_atom(lists:duplicate(255, $a)), list_to_atom(lists:duplicate(255, 16#1F600)),
     #{1 => int, 1.0 => float},
     maps:from_list([{K, K} || K <- lists:seq(1, 33)]),
     maps:from_list([{integer_to_binary(K), K} || K <- lists:seq(1, 100)]),
     #{<<"bin">> => 1, {tuple, key} => 2, [list, key] => 3, #{map => key} => 4, 1.5 => 5, self() => 6},
     list_to_tuple(lists:seq(1, 300)),
     rand:bytes(70000), lists:duplicate(65535, $x), lists:duplicate(65536, $y), lists:duplicate(70000, 7),
     [1, 2, 3 | improper],
     [<<1:N>> || N <- lists:seq(1, 15)],
     1 bsl 2100, -(1 bsl 2100),
     self(), make_ref(), alias_or_ref(), hd(erlang:ports()),
     pid('remote@host', 5, 0, 1), pid('remote@host', 16#FFFFFFFF, 16#FFFFFFFF, 16#FFFFFFFF),
     ref('remote@host', 3, [1]), ref('remote@host', 3, [1, 2, 3, 4, 5]),
     port('remote@host', 16#FFFFFFFFFFFFFFFF, 4), port('remote@host', 7, 4),
     fun lists:map/2, erlang:make_fun('Elixir.Enum', map, 2),
     fun() -> ok end, local_fun(2),
     term_to_binary(self()), lists:duplicate(40, a)]
        ++ [<<X:T>> || T <- lists:seq(1, 7), X <- [0, (1 bsl T) - 1]]
        ++ [<<"abc", X:T>> || T <- lists:seq(1, 7), X <- [0, 1, (1 bsl T) - 1]]
        ++ case zeros_differ() of
               true -> [#{0.0 => positive, neg_zero() => negative}];
               false -> []
           end.

zeros_differ() -> +0.0 =/= neg_zero().

neg_zero() ->
    <<F/float>> = <<1:1, 0:63>>,
    F.

alias_or_ref() ->
    try erlang:alias() catch error:undef -> make_ref() end.

%%% Random terms

term(0) -> leaf();
term(D) ->
    case rand:uniform(10) of
        N when N =< 3 -> leaf();
        _ -> container(D - 1)
    end.

container(D) ->
    case rand:uniform(16) of
        7 -> case rand:uniform(3) of 1 -> large_tuple(); _ -> [term(D) || _ <- width()] end;
        10 -> case rand:uniform(3) of 1 -> large_map(D); _ -> small_map(D) end;
        1 -> [term(D) || _ <- width()];
        2 -> [term(D) || _ <- width()];
        3 -> improper(D);
        4 -> mixed_bytes(D);
        5 -> list_to_tuple([term(D) || _ <- width()]);
        6 -> list_to_tuple([term(D) || _ <- width()]);
        8 -> small_map(D);
        9 -> small_map(D);
        11 -> local_fun(D);
        12 -> #{1 => term(D), 1.0 => term(D)};
        13 -> {'$gen_cast', {send, [pid() || _ <- width()], term(D)}};
        14 -> #{'__struct__' => 'Elixir.Chat.Message', body => binary(), from => pid(), meta => small_map(D)};
        15 -> [term(D) | term(D)];
        16 -> [{atom(), term(D)} || _ <- width()]
    end.

width() -> lists:seq(1, pick([0, 1, 1, 2, 2, 3, 3, 4, 5, 6])).

leaf() ->
    case rand:uniform(20) of
        1 -> atom(); 2 -> atom(); 3 -> atom();
        4 -> integer(); 5 -> integer(); 6 -> integer();
        7 -> float(); 8 -> float();
        9 -> binary(); 10 -> binary();
        11 -> bitstring();
        12 -> string();
        13 -> unicode_string();
        14 -> pid();
        15 -> ref();
        16 -> port();
        17 -> export_fun();
        18 -> pick([[], {}, #{}, <<>>, true, false, nil, undefined]);
        19 -> local_fun(0);
        20 -> pick([self(), make_ref(), alias_or_ref(), hd(erlang:ports())])
    end.

atom() ->
    case rand:uniform(10) of
        1 -> pick(['', true, false, nil, undefined, ok, error, 'Elixir.Foo.Bar', 'hello world', 'ÿ', '$gen_call']);
        2 -> list_to_atom([pick([rand:uniform(128) + 127, $a + rand:uniform(26) - 1]) || _ <- range(1, 12)]);
        3 -> list_to_atom([codepoint() || _ <- range(1, 12)]);
        4 -> list_to_atom([codepoint() || _ <- range(200, 255)]);
        5 -> list_to_atom([$a + rand:uniform(26) - 1 || _ <- range(200, 255)]);
        _ -> pick([a, b, c, foo, bar, baz, 'node@host', send, reply, 'EXIT', data, id, name, key, value])
    end.

%% A Unicode code point: sometimes Latin-1, sometimes beyond the Basic Multilingual Plane.
codepoint() ->
    case rand:uniform(5) of
        1 -> rand:uniform(95) + 31;
        2 -> rand:uniform(128) + 127;
        3 -> rand:uniform(16#D7FF - 256) + 255;
        4 -> rand:uniform(16#FFFD - 16#E000) + 16#DFFF;
        5 -> rand:uniform(16#10FFFF - 16#10000) + 16#FFFF
    end.

integer() ->
    case rand:uniform(9) of
        1 -> rand:uniform(256) - 1;
        2 -> pick([255, 256, -1, -256, 1 bsl 27, (1 bsl 27) - 1, -(1 bsl 27), -(1 bsl 27) - 1,
                   (1 bsl 31) - 1, 1 bsl 31, -(1 bsl 31), -(1 bsl 31) - 1, 1 bsl 32, (1 bsl 32) - 1,
                   (1 bsl 59) - 1, 1 bsl 59, -(1 bsl 59), (1 bsl 63) - 1, 1 bsl 63, -(1 bsl 63),
                   -(1 bsl 63) - 1, (1 bsl 64) - 1, 1 bsl 64, -(1 bsl 64)]);
        3 -> signed(32);
        4 -> signed(64);
        5 -> signed(rand:uniform(200) + 64);
        6 -> signed(rand:uniform(2100) + 64);
        _ -> rand:uniform(2001) - 1001
    end.

signed(Bits) ->
    N = random_bits(Bits),
    pick([N, -N]).

random_bits(Bits) ->
    <<N:Bits, _/bitstring>> = rand:bytes((Bits + 7) div 8),
    N.

float() ->
    case rand:uniform(5) of
        1 -> pick([0.0, neg_zero(), 1.0, -1.0, 0.5, 0.1, 1.0e300, -1.0e-300, 5.0e-324,
                   2.2250738585072014e-308, 1.7976931348623157e308, 3.141592653589793, 1.0e15, 123456789.0]);
        2 -> any_float();
        3 -> any_float();
        4 -> rand:uniform() * 1000;
        5 -> rand:normal() * math:pow(10, rand:uniform(40) - 20)
    end.

%% Any finite double, subnormals included.
any_float() ->
    S = random_bits(1),
    M = random_bits(52),
    E = rand:uniform(2047) - 1,
    <<F/float>> = <<S:1, E:11, M:52>>,
    F.

binary() ->
    case rand:uniform(10) of
        1 -> rand:bytes(rand:uniform(300));
        2 -> <<"user:", (integer_to_binary(rand:uniform(100000)))/binary>>;
        _ -> rand:bytes(rand:uniform(40) - 1)
    end.

bitstring() ->
    Tail = rand:uniform(7),
    <<(rand:bytes(rand:uniform(20) - 1))/binary, (rand:uniform(1 bsl Tail) - 1):Tail>>.

string() ->
    case rand:uniform(3) of
        1 -> [rand:uniform(256) - 1 || _ <- range(1, 60)];
        _ -> [$a + rand:uniform(26) - 1 || _ <- range(1, 20)]
    end.

unicode_string() -> [codepoint() || _ <- range(1, 20)].

%% A list that mixes bytes with other terms, which phash2 hashes in runs.
mixed_bytes(D) ->
    [case rand:uniform(4) of
         1 -> term(D);
         2 -> 256 + rand:uniform(1000);
         _ -> rand:uniform(256) - 1
     end || _ <- range(1, 20)].

improper(D) ->
    Tail = pick([atom(), integer(), float(), binary(), pid(), {}, #{}, bitstring()]),
    lists:foldl(fun(_, Acc) -> [term(D) | Acc] end, Tail, range(1, 4)).

large_tuple() -> list_to_tuple([small_leaf() || _ <- range(256, 300)]).

small_map(D) -> maps:from_list([{key(), term(D)} || _ <- width()]).

large_map(D) -> maps:from_list([{key(), pick([small_leaf(), small_leaf(), term(min(D, 1))])} || _ <- range(33, 64)]).

small_leaf() ->
    case rand:uniform(5) of
        1 -> atom();
        2 -> integer();
        3 -> float();
        4 -> rand:bytes(rand:uniform(8) - 1);
        5 -> pid()
    end.

key() ->
    case rand:uniform(10) of
        1 -> binary();
        2 -> {atom(), integer()};
        3 -> [integer(), atom()];
        4 -> #{atom() => integer()};
        5 -> float();
        6 -> pick([1, 1.0, 0, 0.0, -1, -1.0]);
        7 -> pid();
        _ -> pick([atom(), integer()])
    end.

pid() ->
    case rand:uniform(4) of
        1 -> self();
        _ -> pid(node_name(), id32(), id32(), creation())
    end.

ref() ->
    case rand:uniform(4) of
        1 -> make_ref();
        _ -> ref(node_name(), creation(), [id32() || _ <- range(1, 5)])
    end.

port() ->
    case rand:uniform(3) of
        1 -> port(node_name(), id32(), creation());
        _ -> port(node_name(), pick([id32(), rand:uniform(1 bsl 64) - 1]), creation())
    end.

export_fun() ->
    case rand:uniform(3) of
        1 -> pick([fun lists:map/2, fun erlang:self/0, fun maps:get/3]);
        _ -> erlang:make_fun(atom(), atom(), rand:uniform(256) - 1)
    end.

%% Closures of this module with free variables of any type.
local_fun(D) ->
    case rand:uniform(5) of
        1 -> fun() -> ok end;
        2 -> V = term(D), fun(X) -> {X, V} end;
        3 -> V1 = term(D), V2 = term(D), fun(X, Y) -> [X, Y, V1, V2] end;
        4 -> V = term(D), N = rand:uniform(10), fun Loop(0) -> V; Loop(K) -> Loop(K - N) end;
        5 -> Vs = [term(D) || _ <- width()], fun(A, B, C) -> {A, B, C, Vs} end
    end.

node_name() ->
    pick(['a@host', 'b@127.0.0.1', 'gobeam@localhost', 'other@example.com', 'ñode@høst', 'n@h']).

creation() -> pick([0, 1, 2, 3, 4, rand:uniform(1 bsl 32) - 1]).

id32() ->
    case rand:uniform(3) of
        1 -> rand:uniform(1000) - 1;
        2 -> rand:uniform(1 bsl 28) - 1;
        3 -> rand:uniform(1 bsl 32) - 1
    end.

%% Identifiers of other nodes are made from their external format: NEW_PID_EXT,
%% NEWER_REFERENCE_EXT and V4_PORT_EXT (NEW_PORT_EXT when the id fits in 32 bits).
pid(Node, Id, Serial, Creation) ->
    binary_to_term(<<131, 88, (atom_ext(Node))/binary, Id:32, Serial:32, Creation:32>>).

ref(Node, Creation, Words) ->
    binary_to_term(<<131, 90, (length(Words)):16, (atom_ext(Node))/binary, Creation:32,
                     << <<W:32>> || W <- Words >>/binary>>).

port(Node, Id, Creation) when Id < 1 bsl 32 ->
    binary_to_term(<<131, 89, (atom_ext(Node))/binary, Id:32, Creation:32>>);
port(Node, Id, Creation) ->
    binary_to_term(<<131, 120, (atom_ext(Node))/binary, Id:64, Creation:32>>).

atom_ext(A) ->
    B = atom_to_binary(A, utf8),
    <<118, (byte_size(B)):16, B/binary>>.

range(Min, Max) -> lists:seq(1, Min + rand:uniform(Max - Min + 1) - 1).

pick(List) -> lists:nth(rand:uniform(length(List)), List).

%%% Checks

%% check(Originals, Results) -> {Checked, Identical, Counts, Failures}
%%   Originals: the binaries of a batch.
%%   Results: for each, {ok, GoBytes, GoHashes} (GoHashes: phash2 for each of ranges(), then
%%     phash2/1) or {error, Stage, Message} when Go's Stage (decode or encode) failed.
%%   Identical: how many of Go's encodings equal term_to_binary(T, [{minor_version, 2}]).
%%   Counts: #{Kind => N} of the failures, Kind one of decode, encode, roundtrip, phash2.
%%   Failures: the smallest failures, [{Size, Index, Kind, TermText, Detail}].
check(Originals, Results) when length(Originals) =:= length(Results) ->
    Checked = lists:zipwith3(fun check_one/3, lists:seq(0, length(Originals) - 1), Originals, Results),
    Identical = length([ok || {ok, true} <- Checked]),
    Failures = [F || {failed, F} <- lists:append([Fs || {fails, Fs} <- Checked])],
    Counts = lists:foldl(fun({_, _, Kind, _, _}, Acc) -> maps:update_with(Kind, fun(N) -> N + 1 end, 1, Acc) end,
                         #{}, Failures),
    Smallest = lists:sublist(lists:sort(Failures), ?REPORT_LIMIT),
    {length(Originals), Identical, Counts,
     [{Size, Index, Kind, print(binary_to_term(Orig)), Detail}
      || {Size, Index, Kind, Orig, Detail} <- Smallest]}.

check_one(Index, Orig, {error, Stage, Message}) ->
    {fails, [{failed, {byte_size(Orig), Index, Stage, Orig, Message}}]};
check_one(Index, Orig, {ok, GoBytes, GoHashes}) ->
    T = binary_to_term(Orig),
    Round = try binary_to_term(GoBytes) of
                T -> [];
                Other -> [{roundtrip, iolist_to_binary(["binary_to_term of Go's bytes is ", print(Other),
                                                        "; Go's bytes: ", print(GoBytes)])}]
            catch
                C:R -> [{roundtrip, iolist_to_binary(io_lib:format("binary_to_term of Go's bytes failed with ~p:~p; Go's bytes: ~ts",
                                                                   [C, R, print(GoBytes)]))}]
            end,
    Want = [erlang:phash2(T, R) || R <- ?RANGES] ++ [erlang:phash2(T)],
    Hash = case Want of
               GoHashes -> [];
               _ -> [{phash2, hash_diff(Want, GoHashes)}]
           end,
    case Round ++ Hash of
        [] -> {ok, GoBytes =:= term_to_binary(T, [{minor_version, 2}])};
        Fs -> {fails, [{failed, {byte_size(Orig), Index, Kind, Orig, Detail}} || {Kind, Detail} <- Fs]}
    end.

hash_diff(Want, Got) when length(Want) =:= length(Got) ->
    Names = [io_lib:format("phash2(T, ~w)", [R]) || R <- ?RANGES] ++ ["phash2(T)"],
    iolist_to_binary(lists:join("; ", [io_lib:format("~s: BEAM ~w, Go ~w", [N, W, G])
                                       || {N, W, G} <- lists:zip3(Names, Want, Got), W =/= G]));
hash_diff(Want, Got) ->
    iolist_to_binary(io_lib:format("BEAM ~w, Go ~w", [Want, Got])).

print(T) ->
    S = unicode:characters_to_binary(io_lib:format("~tp", [T])),
    case byte_size(S) > ?PRINT_LIMIT of
        true -> <<(binary:part(S, 0, ?PRINT_LIMIT))/binary, "...">>;
        false -> S
    end.

%%% Vectors

%% identity_vectors() -> [{Group, [{Bytes, Phash2_32}]}]: terms that differ in everything but
%% what phash2 hashes of them: the number of a pid, the first word of a reference, the id of a
%% port. Each group hashes to one value, on any node.
identity_vectors() ->
    Groups =
        [{pid_number_5, [pid(N, 5, S, C) || {N, S, C} <- [{'a@h', 0, 1}, {'b@other', 7, 99},
                                                        {'c@x', 16#FFFFFFFF, 16#FFFFFFFF},
                                                        {'nonode@nohost', 0, 0}]]},
         {pid_number_0, [pid(N, 0, S, C) || {N, S, C} <- [{'a@h', 0, 1}, {'z@z', 3, 3}]]},
         {pid_number_1, [pid(N, 1, S, C) || {N, S, C} <- [{'a@h', 0, 1}, {'z@z', 9, 3}]]},
         {ref_first_word_42, [ref(N, C, Ws) || {N, C, Ws} <- [{'a@h', 1, [42, 1, 2]}, {'b@h', 2, [42, 9, 9]},
                                                             {'c@h', 3, [42]}, {'d@h', 4, [42, 1, 2, 3, 4]},
                                                             {'nonode@nohost', 0, [42, 7, 7]}]]},
         {port_id_7, [port(N, 7, C) || {N, C} <- [{'a@h', 1}, {'b@h', 99}, {'nonode@nohost', 0}]]},
         {port_id_2_40, [port(N, 1 bsl 40, C) || {N, C} <- [{'a@h', 1}, {'b@h', 99}]]}],
    [{Name, [{term_to_binary(T), erlang:phash2(T, 1 bsl 32)} || T <- Ts]} || {Name, Ts} <- Groups].

%% check_go_values([{GoBytes, Expr, GoHash}]) -> [{Index, Detail}]: Go's encoding of a Go value
%% against the Erlang term Expr (Erlang source) says it stands for, and Go's phash2(V, 2^32)
%% against erl's.
check_go_values(Cases) ->
    lists:append(
      lists:zipwith(
        fun(Index, {GoBytes, Expr, GoHash}) ->
                Want = gobeam_peer:eval(Expr, []),
                Decoded = try binary_to_term(GoBytes) catch C:R -> {'binary_to_term failed', C, R} end,
                Fails = [iolist_to_binary(["Go's bytes decode to ", print(Decoded), ", not ", print(Want)])
                         || Decoded =/= Want]
                    ++ [iolist_to_binary(io_lib:format("phash2(~ts, 1 bsl 32): BEAM ~w, Go ~w",
                                                       [print(Want), erlang:phash2(Want, 1 bsl 32), GoHash]))
                        || erlang:phash2(Want, 1 bsl 32) =/= GoHash],
                [{Index, F} || F <- Fails]
        end, lists:seq(0, length(Cases) - 1), Cases)).
