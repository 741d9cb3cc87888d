defmodule GobeamManifold do
  @moduledoc """
  Manifold's wire behaviour on a BEAM node, for the interop tests: the sending side
  (nils dropped, pids grouped by node, one cast per node to the partitioner
  phash2(self(), Partitioners) or pinned by key, pack_mode binary, send_mode offload) and the
  receiving side (registered partitioners running Workers + 1 workers, worker
  phash2(Pid, Workers + 1), unpacking {manifold_binary, Bin}). `shape` picks the cast form of
  Manifold <= 1.7.0 ({send, Pids, Msg}) or of newer Manifold ({send, Pids, Msg, Opts}); like
  Manifold, a partitioner ignores the form it does not speak.

  Started with `stats: true`, each partitioner also keeps count of what reached it (see
  stats/0), so that a test can tell how a cast arrived where the receivers cannot: a packed
  message and a plain one unpack to the same term, and a cast pinned to the wrong partitioner
  delivers all the same.
  """

  # What each partitioner counts, in this order: the casts it routed, those of them whose
  # message was packed ({manifold_binary, Bin}), the casts it ignored (another shape, or no
  # Manifold cast at all), and the entries of the pid lists of the casts it routed.
  @stat_count 4
  @stat_casts 1
  @stat_packed 2
  @stat_ignored 3
  @stat_entries 4

  @doc "Starts `partitioners` partitioners and `senders` senders with the given settings."
  def start(opts \\ []) do
    partitioners = Keyword.get(opts, :partitioners, 1)

    conf = %{
      partitioners: partitioners,
      workers: Keyword.get(opts, :workers, System.schedulers_online()),
      senders: Keyword.get(opts, :senders, 1),
      shape: Keyword.get(opts, :shape, 3),
      # Counting is for tests: the benchmarks and the demo measure Manifold's own work.
      stats:
        if(Keyword.get(opts, :stats, false),
          do: :counters.new(partitioners * @stat_count, [:write_concurrency]),
          else: nil
        )
    }

    :persistent_term.put(__MODULE__, conf)

    for i <- 0..(conf.partitioners - 1) do
      {:ok, pid} = GenServer.start(GobeamManifold.Partitioner, {conf, i}, name: partitioner_name(i))
      pid
    end

    for i <- 0..(conf.senders - 1) do
      {:ok, pid} = GenServer.start(GobeamManifold.Sender, conf, name: sender_name(i))
      pid
    end

    :ok
  end

  def conf, do: :persistent_term.get(__MODULE__)

  @doc false
  def count(i, stat, n \\ 1) do
    if c = conf().stats, do: :counters.add(c, i * @stat_count + stat, n)
  end

  @doc false
  def count_cast(i, pids, msg) do
    if conf().stats, do: count_routed(i, pids, msg)
  end

  defp count_routed(i, pids, msg) do
    count(i, @stat_casts)
    count(i, @stat_entries, length(pids))
    if match?({:manifold_binary, _}, msg), do: count(i, @stat_packed)
  end

  @doc false
  def count_ignored(i), do: count(i, @stat_ignored)

  @doc "Partitioner i's counts: {Name, Casts, Packed, Ignored, Entries}."
  def stats(i) do
    c = conf().stats
    get = fn stat -> :counters.get(c, i * @stat_count + stat) end
    {partitioner_name(i), get.(@stat_casts), get.(@stat_packed), get.(@stat_ignored), get.(@stat_entries)}
  end

  @doc "Every partitioner's counts (stats/1), in index order."
  def stats, do: for(i <- 0..(conf().partitioners - 1), do: stats(i))

  def partitioner_name(0), do: Manifold.Partitioner
  def partitioner_name(i), do: :"Manifold.Partitioner_#{i}"
  def sender_name(i), do: :"Manifold.Sender_#{i}"

  @doc "Manifold's key hash: md5 of the key's text, bytes 8..15 as a little-endian u64."
  def hash(key) when is_binary(key) do
    <<_::binary-size(8), h::unsigned-little-integer-size(64)>> = :erlang.md5(key)
    h
  end

  def hash(key), do: hash(to_string(key))

  @doc "The partitioner Manifold pins a process to with set_partitioner_key(key)."
  def partitioner_for_key(key), do: partitioner_name(rem(hash(key), conf().partitioners))

  def set_partitioner_key(key), do: Process.put(:manifold_partitioner, partitioner_for_key(key))

  def current_partitioner do
    Process.get(:manifold_partitioner) ||
      partitioner_name(:erlang.phash2(self(), conf().partitioners))
  end

  def current_sender, do: sender_name(:erlang.phash2(self(), conf().senders))

  @doc "Manifold.send/3."
  def send(pids, msg, opts \\ [])
  def send([pid], msg, opts), do: send(pid, msg, opts)
  def send(nil, _msg, _opts), do: :ok

  def send(pids, msg, opts) when is_list(pids) do
    case Keyword.get(opts, :send_mode) do
      :offload ->
        GenServer.cast(current_sender(), {:send, current_partitioner(), pids, msg, opts})

      nil ->
        msg = pack(msg, opts)
        cast_grouped(current_partitioner(), pids, msg, opts)
    end
  end

  def send(pid, msg, opts) when is_pid(pid) do
    case Keyword.get(opts, :send_mode) do
      :offload ->
        GenServer.cast(current_sender(), {:send, current_partitioner(), [pid], msg, opts})

      nil ->
        cast(current_partitioner(), node(pid), [pid], msg, opts)
    end
  end

  def cast_grouped(name, pids, msg, opts) do
    pids
    |> Enum.reject(&is_nil/1)
    |> Enum.group_by(&node/1)
    |> Enum.each(fn {node, group} -> cast(name, node, group, msg, opts) end)
  end

  def cast(name, node, pids, msg, opts) do
    case conf().shape do
      3 -> GenServer.cast({name, node}, {:send, pids, msg})
      4 -> GenServer.cast({name, node}, {:send, pids, msg, opts})
    end
  end

  def pack(msg, opts) do
    case Keyword.get(opts, :pack_mode) do
      :binary -> {:manifold_binary, :erlang.term_to_binary(msg)}
      _ -> msg
    end
  end

  def unpack({:manifold_binary, bin}), do: :erlang.binary_to_term(bin)
  def unpack(msg), do: msg
end

defmodule GobeamManifold.Partitioner do
  use GenServer
  require Logger

  def init({conf, index}) do
    Process.flag(:trap_exit, true)
    workers = for _ <- 0..conf.workers, do: elem(GenServer.start_link(GobeamManifold.Worker, nil), 1)
    {:ok, %{workers: List.to_tuple(workers), shape: conf.shape, index: index}}
  end

  def handle_cast({:send, pids, msg}, %{shape: 3} = s), do: {:noreply, route(pids, msg, [], s)}
  def handle_cast({:send, pids, msg, opts}, %{shape: 4} = s), do: {:noreply, route(pids, msg, opts, s)}

  def handle_cast(_other, s) do
    GobeamManifold.count_ignored(s.index)
    {:noreply, s}
  end

  def handle_call(:which_children, _from, s) do
    children = for w <- Tuple.to_list(s.workers), do: {:undefined, w, :worker, [GobeamManifold.Worker]}
    {:reply, children, s}
  end

  def handle_call(_other, _from, s), do: {:reply, :error, s}

  def handle_info({:EXIT, pid, reason}, s) do
    Logger.warning("manifold worker exited: #{inspect(reason)}")
    workers = Tuple.to_list(s.workers)
    i = Enum.find_index(workers, &(&1 == pid))

    if i do
      {:ok, new} = GenServer.start_link(GobeamManifold.Worker, nil)
      {:noreply, %{s | workers: put_elem(s.workers, i, new)}}
    else
      {:noreply, s}
    end
  end

  # The counts as they are when this message is handled: a process that sent a cast here and
  # then this message learns whether its cast came before, as messages between two processes
  # keep their order.
  def handle_info({:gobeam_stats, to}, s) do
    Kernel.send(to, {:gobeam_stats, GobeamManifold.stats(s.index)})
    {:noreply, s}
  end

  def handle_info(_, s), do: {:noreply, s}

  defp route(pids, msg, opts, s) do
    GobeamManifold.count_cast(s.index, pids, msg)
    n = tuple_size(s.workers)
    buckets = Enum.group_by(pids, &:erlang.phash2(&1, n))

    for i <- 0..(n - 1), group = Map.get(buckets, i), group != nil do
      GenServer.cast(elem(s.workers, i), {:send, group, msg, opts})
    end

    s
  end
end

defmodule GobeamManifold.Worker do
  use GenServer
  def init(nil), do: {:ok, nil}

  def handle_cast({:send, pids, msg, _opts}, s) do
    msg = GobeamManifold.unpack(msg)
    for pid <- pids, do: Kernel.send(pid, msg)
    {:noreply, s}
  end
end

defmodule GobeamManifold.Sender do
  use GenServer
  def init(conf), do: {:ok, conf}

  def handle_cast({:send, partitioner, pids, msg, opts}, s) do
    msg = if length(pids) > 1, do: GobeamManifold.pack(msg, opts), else: msg
    GobeamManifold.cast_grouped(partitioner, pids, msg, opts)
    {:noreply, s}
  end
end

defmodule GobeamManifold.Receivers do
  @moduledoc "Receivers for the tests, and a collector that checks what they received."

  @doc "Spawns n processes that report every message to the collector as {got, Self, Msg}."
  def spawn_reporters(n, collector) do
    for _ <- 1..n, do: spawn(fn -> report(collector) end)
  end

  defp report(collector) do
    receive do
      msg -> Kernel.send(collector, {:got, self(), msg})
    end

    report(collector)
  end

  @doc "A collector expecting `expected` messages; answers {result, Count, Distinct, Wrong}."
  def start_collector(expected_msg) do
    spawn(fn -> collect(expected_msg, 0, MapSet.new(), 0) end)
  end

  defp collect(expected, count, seen, wrong) do
    receive do
      {:got, pid, ^expected} -> collect(expected, count + 1, MapSet.put(seen, pid), wrong)
      {:got, _pid, _other} -> collect(expected, count + 1, seen, wrong + 1)
      {:report, from} ->
        Kernel.send(from, {:result, count, MapSet.size(seen), wrong})
        collect(expected, count, seen, wrong)
    end
  end

  @doc "Waits until the collector has `n` messages or `timeout` ms pass; returns its result."
  def await(collector, n, timeout) do
    deadline = System.monotonic_time(:millisecond) + timeout
    await_loop(collector, n, deadline)
  end

  defp await_loop(collector, n, deadline) do
    Kernel.send(collector, {:report, self()})

    result =
      receive do
        {:result, _, _, _} = r -> r
      end

    case result do
      {:result, count, _, _} when count >= n ->
        result

      _ ->
        if System.monotonic_time(:millisecond) > deadline do
          result
        else
          Process.sleep(20)
          await_loop(collector, n, deadline)
        end
    end
  end

  @doc "A process that echoes every message to `to` as {Self, Msg} (Manifold's reply loop)."
  def spawn_echo(to) do
    spawn(fn -> echo(to) end)
  end

  defp echo(to) do
    receive do
      msg -> Kernel.send(to, {self(), msg})
    end

    echo(to)
  end

  @doc "n processes that count the messages they receive in one shared counter: {Counter, Pids}."
  def spawn_counters(n) do
    counter = :counters.new(1, [:write_concurrency])
    {counter, for(_ <- 1..n, do: spawn(fn -> count(counter) end))}
  end

  defp count(counter) do
    receive do
      _ -> :counters.add(counter, 1, 1)
    end

    count(counter)
  end

  def read(counter), do: :counters.get(counter, 1)

  @doc "Sends msg to pids `rounds` times with GobeamManifold.send; returns the microseconds spent."
  def send_rounds(pids, msg, rounds) do
    {us, _} = :timer.tc(fn -> for _ <- 1..rounds, do: GobeamManifold.send(pids, msg) end)
    us
  end

  @doc "A process that swallows every message."
  def spawn_noop, do: spawn(fn -> noop() end)
  defp noop, do: (receive do _ -> :ok end; noop())
end
