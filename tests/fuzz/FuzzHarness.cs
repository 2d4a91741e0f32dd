using SharpFuzz;

namespace Gateway.Fuzz;

/// <summary>
/// The command line (see README.md):
/// <code>
/// Gateway.Fuzz seed DIR          write each target's seed corpus (the specs' examples) to DIR/&lt;target&gt;/
/// Gateway.Fuzz TARGET            under libfuzzer-dotnet or afl-fuzz (told apart by the environment they set), with
///                                Gateway.Protocol.dll instrumented by the sharpfuzz tool
/// Gateway.Fuzz TARGET PATH...    run the entry point once per file (a corpus directory, or crash files)
/// </code>
/// Targets: websocket, http, engineio, socketio, proxy.
/// </summary>
public static class FuzzHarness
{
    public static int Main(string[] args)
    {
        if (args.Length == 2 && args[0] == "seed")
        {
            return WriteSeeds(args[1]);
        }

        FuzzTarget? target = args.Length >= 1 ? FuzzTargets.Find(args[0]) : null;
        if (target is null)
        {
            Console.Error.WriteLine($"usage: Gateway.Fuzz seed DIR | TARGET [PATH...]; targets: {string.Join(", ", FuzzTargets.All.Select(t => t.Name))}");
            return 64;
        }

        if (args.Length > 1)
        {
            return Replay(target, args.Skip(1));
        }

        // The drivers' shared-memory ids (SharpFuzz reads them itself).
        if (Environment.GetEnvironmentVariable("__LIBFUZZER_SHM_ID") is not null)
        {
            Fuzzer.LibFuzzer.Run(span => target(span));
            return 0;
        }

        if (Environment.GetEnvironmentVariable("__AFL_SHM_ID") is not null)
        {
            Fuzzer.OutOfProcess.Run(stream =>
            {
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                target(copy.GetBuffer().AsSpan(0, (int)copy.Length));
            });
            return 0;
        }

        Console.Error.WriteLine("no fuzzer driving this process (run it under libfuzzer-dotnet or afl-fuzz), and no input files given");
        return 64;
    }

    /// <summary>Runs <paramref name="target"/> over every file (directories: every file inside); 0 when none crashed.</summary>
    public static int Replay(FuzzTarget target, IEnumerable<string> paths)
    {
        int files = 0;
        foreach (string file in paths.SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal) : (IEnumerable<string>)[p]))
        {
            target(File.ReadAllBytes(file));
            files++;
        }

        Console.WriteLine($"{files} inputs, no crash");
        return files > 0 ? 0 : 66;
    }

    private static int WriteSeeds(string directory)
    {
        foreach ((string name, _) in FuzzTargets.All)
        {
            string targetDirectory = Path.Combine(directory, name);
            Directory.CreateDirectory(targetDirectory);
            foreach ((string seedName, byte[] bytes) in Seeds.For(name))
            {
                File.WriteAllBytes(Path.Combine(targetDirectory, seedName), bytes);
            }
        }

        return 0;
    }
}
