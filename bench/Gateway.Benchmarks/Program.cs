using System.Reflection;
using BenchmarkDotNet.Running;
using Gateway.Benchmarks.Check;

namespace Gateway.Benchmarks;

/// <summary>
/// <c>Gateway.Benchmarks [BenchmarkDotNet args]</c>: the full job, filter with <c>--filter</c>.
/// <c>--short [BenchmarkDotNet args]</c>: the gate's short job; <c>bench/check</c> runs every build, the baseline
/// commit's too, one case at a time as <c>--short --filter FILTER --artifacts DIR</c>, so that form must keep working.
/// With <c>--exact-allocations</c> (the current build's runs), the exact allocation probe of the filtered cases
/// follows in the same process, into ARTIFACTS.
/// <c>--gate ARTIFACTS</c>: the short job over every benchmark, JSON into ARTIFACTS, then the exact allocation probe.
/// <c>--cases</c>: every case's key and filter, one a line. <c>--check ...</c>: compares runs (see <see cref="GateCommand"/>).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
#if DEBUG
        Console.Error.WriteLine("Gateway.Benchmarks: refusing to run a Debug build; use -c Release.");
        return 2;
#else
        if (args.Length >= 2 && args[0] == "--gate")
        {
            Type[] types = BenchmarkTypes(typeof(Program).Assembly);
            var summaries = BenchmarkRunner.Run(types, BenchConfig.Create(shortRun: true, artifacts: args[1]));
            if (summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)))
            {
                return 1;
            }

            AllocationProbe.Save(AllocationProbe.Run(typeof(Program).Assembly, Console.Out), Path.Combine(args[1], AllocationProbe.FileName));
            return 0;
        }

        if (args.Length == 1 && args[0] == "--cases")
        {
            foreach (Check.BenchmarkCase benchmarkCase in Check.BenchmarkCase.All(typeof(Program).Assembly))
            {
                Console.WriteLine($"{benchmarkCase.Key}\t{benchmarkCase.Filter}");
            }

            return 0;
        }

        if (args.Length >= 1 && args[0] == "--check")
        {
            return GateCommand.Run(args.Skip(1).ToArray(), typeof(Program).Assembly, Console.Out);
        }

        bool shortRun = args.Contains("--short");
        bool exactAllocations = args.Contains("--exact-allocations");
        string[] rest = args.Where(a => a is not "--short" and not "--exact-allocations").ToArray();
        var results = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(rest, BenchConfig.Create(shortRun)).ToList();
        // A case that failed must fail the caller: bench/check would otherwise only see it missing from the JSON.
        if (results.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)))
        {
            return 1;
        }

        if (exactAllocations)
        {
            // After the measurement, in its process, as --gate does: the bodies' code is then mostly tiered up
            // already, so the probe's wait for the JIT (BenchmarkCase.Instance.SettleJit) is short.
            string artifacts = Value(rest, "--artifacts") ?? throw new ArgumentException("--exact-allocations needs --artifacts");
            HashSet<string> filters = rest.Where((_, i) => i > 0 && rest[i - 1] == "--filter").ToHashSet(StringComparer.Ordinal);
            AllocationProbe.Save(AllocationProbe.Run(typeof(Program).Assembly, Console.Out, c => filters.Contains(c.Filter)), Path.Combine(artifacts, AllocationProbe.FileName));
        }

        return 0;
#endif
    }

    private static string? Value(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>Every public class with a [Benchmark] method, in name order (the run order of the gate).</summary>
    public static Type[] BenchmarkTypes(Assembly assembly) =>
        assembly.GetTypes()
            .Where(t => t.IsPublic && !t.IsAbstract && t.GetMethods().Any(m => m.GetCustomAttribute<BenchmarkDotNet.Attributes.BenchmarkAttribute>() is not null))
            .OrderBy(t => t.FullName, StringComparer.Ordinal)
            .ToArray();
}
