using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Attributes;

namespace Gateway.Benchmarks.Check;

/// <summary>One benchmark method with one combination of <c>[Params]</c> values, runnable without BenchmarkDotNet.</summary>
public sealed class BenchmarkCase
{
    private readonly IReadOnlyList<(PropertyInfo Property, object? Value)> _parameters;

    private BenchmarkCase(Type type, MethodInfo method, IReadOnlyList<(PropertyInfo, object?)> parameters)
    {
        Type = type;
        Method = method;
        _parameters = parameters;
        // BenchmarkDotNet's spelling ("Connections=1&Output=Null"), so keys match its JSON.
        Parameters = string.Join("&", parameters.Select(p => $"{p.Item1.Name}={Convert.ToString(p.Item2, CultureInfo.InvariantCulture)}"));
    }

    public Type Type { get; }

    public MethodInfo Method { get; }

    public string Parameters { get; }

    public string Key => Parameters.Length == 0 ? $"{Type.Name}.{Method.Name}" : $"{Type.Name}.{Method.Name}({Parameters})";

    /// <summary>
    /// A BenchmarkDotNet <c>--filter</c> that selects this case alone: its full name, where parameters are spelled
    /// <c>(Connections: 1, Output: Null)</c>. The other commit's build of the gate understands the same filter.
    /// </summary>
    public string Filter => _parameters.Count == 0
        ? $"*.{Type.Name}.{Method.Name}"
        : $"*.{Type.Name}.{Method.Name}({string.Join(", ", _parameters.Select(p => $"{p.Property.Name}: {Convert.ToString(p.Value, CultureInfo.InvariantCulture)}"))})";

    public bool IsBaseline => Method.GetCustomAttribute<BenchmarkAttribute>()!.Baseline;

    public int OperationsPerInvoke => Method.GetCustomAttribute<BenchmarkAttribute>()!.OperationsPerInvoke;

    /// <summary>Every case of every benchmark class in <paramref name="assembly"/>.</summary>
    public static IReadOnlyList<BenchmarkCase> All(System.Reflection.Assembly assembly) =>
        Program.BenchmarkTypes(assembly).SelectMany(Of).ToList();

    public static IEnumerable<BenchmarkCase> Of(Type type)
    {
        MethodInfo[] methods = type.GetMethods().Where(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null).OrderBy(m => m.MetadataToken).ToArray();
        PropertyInfo[] parameters = type.GetProperties().Where(p => p.GetCustomAttribute<ParamsAttribute>() is not null).OrderBy(p => p.Name, StringComparer.Ordinal).ToArray();
        IEnumerable<IReadOnlyList<(PropertyInfo, object?)>> combinations = [[]];
        foreach (PropertyInfo p in parameters)
        {
            object?[] values = p.GetCustomAttribute<ParamsAttribute>()!.Values;
            combinations = combinations.SelectMany(c => values.Select(v => (IReadOnlyList<(PropertyInfo, object?)>)[.. c, (p, v)])).ToList();
        }

        foreach (IReadOnlyList<(PropertyInfo, object?)> combination in combinations)
        {
            foreach (MethodInfo method in methods)
            {
                yield return new BenchmarkCase(type, method, combination);
            }
        }
    }

    /// <summary>A new instance with the parameters set and [GlobalSetup] run; dispose it to run [GlobalCleanup].</summary>
    public Instance Create()
    {
        object target = Activator.CreateInstance(Type)!;
        foreach ((PropertyInfo property, object? value) in _parameters)
        {
            property.SetValue(target, value);
        }

        Find<GlobalSetupAttribute>()?.Invoke(target, null);
        return new Instance(this, target);
    }

    private MethodInfo? Find<TAttribute>()
        where TAttribute : Attribute => Type.GetMethods().FirstOrDefault(m => m.GetCustomAttribute<TAttribute>() is not null);

    public sealed class Instance : IDisposable
    {
        private readonly BenchmarkCase _case;
        private readonly object _target;
        private readonly Func<object?> _body;

        internal Instance(BenchmarkCase benchmarkCase, object target)
        {
            _case = benchmarkCase;
            _target = target;
            // A delegate, not MethodInfo.Invoke: reflection would allocate its argument array and box the result.
            Type returnType = benchmarkCase.Method.ReturnType;
            Delegate body = benchmarkCase.Method.CreateDelegate(typeof(Func<>).MakeGenericType(returnType), target);
            _body = returnType == typeof(long) ? Wrap((Func<long>)body) : returnType == typeof(int) ? Wrap((Func<int>)body) : throw new NotSupportedException($"{benchmarkCase.Key}: return int or long");
        }

        public object Target => _target;

        /// <summary>Runs the body once; the result is discarded.</summary>
        public void Invoke() => _body();

        /// <summary>
        /// Bytes the body allocates per operation on this thread, after warming up (tiering, lazy pools): exact, and
        /// blind to other threads and to the harness. Rounded up, so a single byte in all the calls still counts.
        /// A body that allocates is measured again once the JIT has finished with it (see <see cref="SettleJit"/>).
        /// </summary>
        public long MeasureAllocatedBytesPerOperation(int warmup, int calls)
        {
            for (int i = 0; i < warmup; i++)
            {
                _body();
            }

            long bytes = Measure(calls);
            if (bytes > 0)
            {
                SettleJit(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10));
                bytes = Measure(calls);
            }

            return bytes;
        }

        private long Measure(int calls)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < calls; i++)
            {
                _body();
            }

            long total = GC.GetAllocatedBytesForCurrentThread() - before;
            long operations = (long)calls * _case.OperationsPerInvoke;
            return (total + operations - 1) / operations;
        }

        /// <summary>
        /// Calls the body until the JIT has compiled nothing for <paramref name="quiet"/> (at most
        /// <paramref name="limit"/>). What a body allocates depends on its code's tier: PGO-optimized code keeps some
        /// objects on the stack (StreamDecodeBenchmarks.DecodeAndDeliver: 352 B per prompt, 432 before), and on a
        /// loaded machine the background tier-up can lag the calls by seconds, even after a BenchmarkDotNet run.
        /// </summary>
        public void SettleJit(TimeSpan quiet, TimeSpan limit)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            long compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
            TimeSpan changed = TimeSpan.Zero;
            while (clock.Elapsed - changed < quiet && clock.Elapsed < limit)
            {
                _body();
                long now = System.Runtime.JitInfo.GetCompiledMethodCount();
                if (now != compiled)
                {
                    compiled = now;
                    changed = clock.Elapsed;
                }
            }
        }

        public void Dispose() => _case.Find<GlobalCleanupAttribute>()?.Invoke(_target, null);

        // Bodies return a value so the JIT cannot drop them; these wrappers keep the call allocation-free.
        private static Func<object?> Wrap(Func<long> f) => () =>
        {
            f();
            return null;
        };

        private static Func<object?> Wrap(Func<int> f) => () =>
        {
            f();
            return null;
        };
    }
}
