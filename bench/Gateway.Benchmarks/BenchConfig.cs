using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using BenchmarkDotNet.Validators;
using Perfolizer.Horology;

namespace Gateway.Benchmarks;

/// <summary>
/// The one configuration every run uses. In-process (no per-benchmark project build, which on a shared two-core
/// machine costs more than the measurements), workstation non-concurrent GC so allocated bytes are exact, and a
/// hard failure on a non-optimized (Debug) build.
/// </summary>
public static class BenchConfig
{
    public static IConfig Create(bool shortRun, string? artifacts = null)
    {
        Job job = Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            // Must match the process (see the csproj): the in-process validator refuses a mismatch.
            .WithGcServer(false)
            .WithGcConcurrent(false)
            .WithGcForce(true);
        job = shortRun
            // The CI gate: enough samples for a median, few enough for the whole suite to stay well under 10 minutes.
            ? job.WithLaunchCount(1).WithWarmupCount(4).WithIterationCount(9).WithIterationTime(TimeInterval.FromMilliseconds(150)).WithId("Gate")
            : job.WithId("Full");

        ManualConfig config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddLogger(ConsoleLogger.Default)
            .AddExporter(MarkdownExporter.GitHub, JsonExporter.Brief)
            .AddValidator(JitOptimizationsValidator.FailOnError)
            .AddValidator(BaselineValidator.FailOnError)
            .AddValidator(ExecutionValidator.FailOnError)
            .WithOptions(ConfigOptions.DisableLogFile | ConfigOptions.StopOnFirstError);
        if (artifacts is not null)
        {
            config = config.WithArtifactsPath(artifacts);
        }

        return config;
    }
}
