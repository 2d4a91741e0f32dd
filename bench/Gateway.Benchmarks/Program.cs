using System.Reflection;
using BenchmarkDotNet.Running;
using Gateway.Benchmarks.Check;

namespace Gateway.Benchmarks;

/// <summary>
/// <c>Gateway.Benchmarks [BenchmarkDotNet args]</c>: the full job, filter with <c>--filter</c>.
/// <c>--gate ARTIFACTS</c>: the short CI job over every benchmark, JSON into ARTIFACTS, then the exact allocation probe.
/// <c>--check ARTIFACTS --baseline FILE --summary DIR [--update] [--tolerance 0.25] [--fast-tolerance 1.0] [--fast-ns 20]</c>:
/// compares a gate run with the committed baseline (or rewrites it).
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

        if (args.Length >= 1 && args[0] == "--check")
        {
            return GateCommand.Run(args.Skip(1).ToArray(), typeof(Program).Assembly, Console.Out);
        }

        bool shortRun = args.Contains("--short");
        string[] rest = args.Where(a => a != "--short").ToArray();
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(rest, BenchConfig.Create(shortRun));
        return 0;
#endif
    }

    /// <summary>Every public class with a [Benchmark] method, in name order (the run order of the gate).</summary>
    public static Type[] BenchmarkTypes(Assembly assembly) =>
        assembly.GetTypes()
            .Where(t => t.IsPublic && !t.IsAbstract && t.GetMethods().Any(m => m.GetCustomAttribute<BenchmarkDotNet.Attributes.BenchmarkAttribute>() is not null))
            .OrderBy(t => t.FullName, StringComparer.Ordinal)
            .ToArray();
}
