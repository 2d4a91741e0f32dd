using System.Runtime.InteropServices;

namespace Gateway.Broadcast;

/// <summary>
/// The calling thread's nice value (Linux schedules threads, and each has its own). The fan-out workers run ahead of
/// everything else of the machine when they are given a lower one: a prompt's pass then is not stretched by the work
/// of refusing a connection flood, which runs on the transport's threads.
/// </summary>
internal static class ThreadNice
{
    private const int PrioProcess = 0;

    /// <summary>Sets the calling thread's nice value; false with the OS error (EPERM or EACCES without the privilege) when refused.</summary>
    public static bool TrySet(int nice, out int error)
    {
        error = 0;
        if (!OperatingSystem.IsLinux())
        {
            return true;
        }

        // who = the thread id: on Linux PRIO_PROCESS addresses one thread.
        if (SetPriority(PrioProcess, (uint)GetThreadId(), nice) == 0)
        {
            return true;
        }

        error = Marshal.GetLastPInvokeError();
        return false;
    }

    // Plain ints only: no marshalling.
    [DllImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static extern int SetPriority(int which, uint who, int prio);

    [DllImport("libc", EntryPoint = "gettid")]
    private static extern int GetThreadId();
}
