namespace Gateway.Fuzz;

/// <summary>
/// One fuzz entry point: runs a codec over arbitrary bytes the way the gateway does and checks what must always hold.
/// It returns for every input (a codec refuses bad input with its own error result); it throws
/// <see cref="FuzzInvariantException"/> — or the codec throws — only on a bug, which the fuzzer reports as a crash.
/// </summary>
public delegate void FuzzTarget(ReadOnlySpan<byte> input);
