# The Elixir half of manifold-node's demo. The Go node passes its name and the demo's settings
# in the environment; GobeamManifold (Manifold's wire behaviour) is loaded from GOBEAM_DEMO_EX.
[{GobeamManifold, _} | _] = Code.compile_file(System.fetch_env!("GOBEAM_DEMO_EX"))
go = String.to_atom(System.fetch_env!("GOBEAM_DEMO_GO"))
receivers = String.to_integer(System.fetch_env!("GOBEAM_DEMO_PIDS"))
interval = String.to_integer(System.fetch_env!("GOBEAM_DEMO_INTERVAL_MS"))
partitioners = String.to_integer(System.fetch_env!("GOBEAM_DEMO_PARTITIONERS"))

true = Node.connect(go)
:ok = GobeamManifold.start(partitioners: partitioners, shape: 3)

defmodule Demo do
  # A receiver counts deliveries and checks that each sender's sequence numbers only grow.
  def receiver(counts, last \\ %{}) do
    receive do
      {:chat, from, seq, _payload} ->
        prev = Map.get(last, from, -1)
        :counters.add(counts, 1, 1)
        if seq <= prev, do: :counters.add(counts, 2, 1)
        receiver(counts, Map.put(last, from, seq))
    end
  end

  def fan_out(pids, seq, interval, until) do
    if System.monotonic_time(:millisecond) < until do
      GobeamManifold.send(pids, {:chat, :elixir, seq, payload(seq)})
      Process.sleep(interval)
      fan_out(pids, seq + 1, interval, until)
    else
      seq
    end
  end

  def payload(seq) do
    %{
      "id" => Integer.to_string(1_180_539_227_473_182_760 + seq),
      "channel_id" => "1180539227473182700",
      "author" => %{"id" => "80351110224678912", "username" => "ada", "discriminator" => "0"},
      "content" => "fanning out from Elixir to Go, message #{seq}",
      "timestamp" => "2026-11-23T21:00:00.000000+00:00",
      "mentions" => [],
      "pinned" => false
    }
  end
end

counts = :counters.new(2, [:write_concurrency])
pids = for _ <- 1..receivers, do: spawn(fn -> Demo.receiver(counts) end)
send({:demo, go}, {:elixir_ready, self(), pids})

{go_pids, seconds} =
  receive do
    {:go_ready, go_pids, ms} -> {go_pids, ms}
  after
    10_000 -> raise "the Go node did not answer"
  end

me = self()
reporter = spawn(fn ->
  Stream.repeatedly(fn ->
    Process.sleep(250)
    send({:demo, go}, {:elixir_stats, :counters.get(counts, 1), :counters.get(counts, 2)})
  end) |> Stream.run()
end)

until = System.monotonic_time(:millisecond) + seconds
rounds = Demo.fan_out(go_pids, 0, interval, until)
send(me, {:sent, rounds})
receive do
  {:sent, n} -> send({:demo, go}, {:elixir_sent, n})
end

# Let the last deliveries arrive, report the final counts, and wait to be told to stop.
Process.sleep(1_000)
send({:demo, go}, {:elixir_final, :counters.get(counts, 1), :counters.get(counts, 2)})
Process.exit(reporter, :kill)

receive do
  :stop -> :ok
after
  30_000 -> :ok
end
