%% The runtime of an erl peer started by the Go package erlpeer.
%%
%% The peer talks to its Go test over one loopback TCP connection with {packet, 4} framing. Every
%% packet after the bootstrap is a term_to_binary term:
%%
%%   Go -> peer   {call, Id, Module, Function, Args}
%%   peer -> Go   {hello, OtpRelease, ErtsVersion, Node, OsPid}   (once, first)
%%                {reply, Id, ok, Value}
%%                {reply, Id, error, {Class, Reason, Text}}
%%                {event, Term}                                   (from notify/1)
%%
%% Each call runs in a process of its own, so a slow call does not hold up the others. The
%% connection is the peer's lifeline: when it closes (the Go test stopped the peer, finished or
%% died) the node halts at once.
%%
%% This module is compiled from its source by the bootstrap without the preprocessor, so it uses
%% no macros and no include files.
-module(gobeam_peer).

-export([serve/1, notify/1, eval/2, load/2, start_elixir/0, mailbox/1]).

%% serve(Socket): the loop of the connection's owner. Never returns.
serve(Sock) ->
    persistent_term:put(gobeam_peer_socket, Sock),
    register(gobeam_peer, self()),
    send_term(Sock, {hello,
                     list_to_binary(erlang:system_info(otp_release)),
                     list_to_binary(erlang:system_info(version)),
                     node(),
                     list_to_integer(os:getpid())}),
    loop(Sock).

loop(Sock) ->
    case gen_tcp:recv(Sock, 0) of
        {ok, Packet} ->
            dispatch(Sock, binary_to_term(Packet)),
            loop(Sock);
        {error, closed} ->
            erlang:halt(0, [{flush, false}]);
        {error, Reason} ->
            io:format(standard_error, "gobeam_peer: connection to the Go test failed: ~p~n", [Reason]),
            erlang:halt(3, [{flush, false}])
    end.

dispatch(Sock, {call, Id, M, F, A}) ->
    spawn(fun() ->
                  case run(M, F, A) of
                      {ok, Value} -> send_term(Sock, {reply, Id, ok, Value});
                      {error, Error} -> send_term(Sock, {reply, Id, error, Error})
                  end
          end);
dispatch(_Sock, Other) ->
    io:format(standard_error, "gobeam_peer: ignoring unknown request ~P~n", [Other, 20]).

run(M, F, A) ->
    try apply(M, F, A) of
        Value -> {ok, Value}
    catch
        Class:Reason:Stack ->
            Text = try erl_error:format_exception(Class, Reason, Stack) of
                       Chars -> unicode:characters_to_binary(Chars)
                   catch
                       _:_ -> iolist_to_binary(io_lib:format("~p:~p ~p", [Class, Reason, Stack]))
                   end,
            {error, {Class, Reason, Text}}
    end.

send_term(Sock, Term) ->
    case gen_tcp:send(Sock, term_to_binary(Term)) of
        ok -> ok;
        {error, _} -> erlang:halt(0, [{flush, false}])
    end.

%% notify(Term): sends Term to the Go test, where Peer.Recv returns it.
notify(Term) ->
    send_term(persistent_term:get(gobeam_peer_socket), {event, Term}).

%% mailbox(Name): registers a process under Name that passes every message it receives to the Go
%% test as the event {Name, Message}. Returns its pid.
mailbox(Name) ->
    Self = self(),
    Pid = spawn(fun() ->
                        register(Name, self()),
                        Self ! {registered, self()},
                        mailbox_loop(Name)
                end),
    receive {registered, Pid} -> Pid after 5000 -> error({mailbox_not_registered, Name}) end.

mailbox_loop(Name) ->
    receive Msg -> notify({Name, Msg}) end,
    mailbox_loop(Name).

%% eval(Source, Bindings): evaluates the Erlang expressions in Source (a binary; the final dot is
%% optional) with the variables in Bindings ([{'Var', Value}]) bound, and returns the value of the
%% last expression.
eval(Source, Bindings) ->
    Text0 = unicode:characters_to_list(Source),
    Text = case lists:reverse(string:trim(Text0, trailing)) of
               [$. | _] -> Text0;
               _ -> Text0 ++ "."
           end,
    Tokens = case erl_scan:string(Text) of
                 {ok, T, _} -> T;
                 {error, {Loc, Mod, Desc}, _} -> error({scan, Loc, unicode:characters_to_binary(Mod:format_error(Desc))})
             end,
    Exprs = case erl_parse:parse_exprs(Tokens) of
                {ok, E} -> E;
                {error, {Loc2, Mod2, Desc2}} -> error({parse, Loc2, unicode:characters_to_binary(Mod2:format_error(Desc2))})
            end,
    Bs = lists:foldl(fun({K, V}, Acc) -> erl_eval:add_binding(K, V, Acc) end,
                     erl_eval:new_bindings(), Bindings),
    {value, Value, _} = erl_eval:exprs(Exprs, Bs),
    Value.

%% load(FileName, Source): compiles and loads a module: Erlang for a name ending in .erl, Elixir
%% (start_elixir/0 first) for .ex and .exs. Returns {Modules, Warnings} with Warnings as text.
load(FileName, Source) ->
    Name = unicode:characters_to_list(FileName),
    case filename:extension(Name) of
        ".erl" -> load_erlang(Name, Source);
        ".ex" -> load_elixir(Name, Source);
        ".exs" -> load_elixir(Name, Source);
        Ext -> error({unknown_source_type, unicode:characters_to_binary(Ext)})
    end.

%% Erlang source is written to a private directory and compiled from there, so that it may use
%% the preprocessor (macros, -include_lib) as any module does.
load_erlang(Name, Source) ->
    Dir = filename:join(tmp_dir(), "gobeam_peer_" ++ os:getpid() ++ "_" ++
                            integer_to_list(erlang:unique_integer([positive]))),
    ok = file:make_dir(Dir),
    Path = filename:join(Dir, filename:basename(Name)),
    try
        ok = file:write_file(Path, Source),
        case compile:file(Path, [binary, return_errors, return_warnings]) of
            {ok, Mod, Bin, Warnings} ->
                {module, Mod} = code:load_binary(Mod, Path, Bin),
                {[Mod], format_messages(Warnings)};
            {error, Errors, _Warnings} ->
                error({compile_failed, format_messages(Errors)})
        end
    after
        _ = file:delete(Path),
        _ = file:del_dir(Dir)
    end.

tmp_dir() ->
    case os:getenv("TMPDIR") of
        false -> "/tmp";
        Dir -> case filelib:is_dir(Dir) of true -> Dir; false -> "/tmp" end
    end.

format_messages(FileMessages) ->
    iolist_to_binary(
      [io_lib:format("~ts:~s: ~ts~n", [filename:basename(File), format_location(Loc), Mod:format_error(Desc)])
       || {File, Messages} <- FileMessages, {Loc, Mod, Desc} <- Messages]).

format_location({Line, Col}) -> io_lib:format("~w:~w", [Line, Col]);
format_location(Line) -> io_lib:format("~w", [Line]).

load_elixir(Name, Source) ->
    _ = start_elixir(),
    Compiled = 'Elixir.Code':compile_string(Source, unicode:characters_to_binary(Name)),
    {[Mod || {Mod, _Bin} <- Compiled], <<>>}.

%% start_elixir(): puts the Elixir installation next to this node's erl on the code path and
%% starts the elixir application; returns Elixir's version. A plain erl node so becomes an Elixir
%% node, as `elixir --sname ...` would start it, with the same boot and the same bootstrap.
start_elixir() ->
    case code:which('Elixir.Code') of
        non_existing -> code:add_pathsa(elixir_ebin_dirs());
        _ -> ok
    end,
    {ok, _} = application:ensure_all_started(elixir),
    'Elixir.System':version().

elixir_ebin_dirs() ->
    Roots = [elixir_root_from_executable(), "/usr/lib/elixir", "/usr/local/lib/elixir"],
    case [Dirs || Root <- Roots, Root =/= false,
                  Dirs <- [filelib:wildcard(filename:join([Root, "lib", "*", "ebin"]))], Dirs =/= []] of
        [Dirs | _] -> Dirs;
        [] -> error(elixir_not_installed)
    end.

%% Elixir's launcher is ROOT/bin/elixir, usually reached through a symbolic link.
elixir_root_from_executable() ->
    case os:find_executable("elixir") of
        false -> false;
        Exe -> filename:dirname(filename:dirname(resolve_links(Exe, 10)))
    end.

resolve_links(Path, 0) -> Path;
resolve_links(Path, N) ->
    case file:read_link(Path) of
        {ok, Target} -> resolve_links(filename:absname(Target, filename:dirname(Path)), N - 1);
        {error, _} -> Path
    end.
