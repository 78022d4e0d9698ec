using System.Runtime.InteropServices;

namespace Backprop.Distributed;

/// <summary>
/// Open MPI's C API, bound at run time from <c>libmpi.so.40</c>. Open MPI's handles are pointers: MPI_COMM_WORLD is
/// the address of the exported global <c>ompi_mpi_comm_world</c>, MPI_FLOAT of <c>ompi_mpi_float</c>, MPI_SUM of
/// <c>ompi_mpi_op_sum</c>; MPI_IN_PLACE is the address 1. Every function returns MPI_SUCCESS (0) or an error code
/// (with the default MPI_ERRORS_ARE_FATAL handler an error ends the job before returning).
/// </summary>
internal sealed unsafe class MpiNative
{
    public const string LibraryName = "libmpi.so.40";
    public const int ThreadMultiple = 3;   // MPI_THREAD_MULTIPLE: the watchdog thread may call MPI_Abort during a collective
    public static readonly nint InPlace = 1;

    public const int CommTypeShared = 0;   // MPI_COMM_TYPE_SHARED: the ranks that can share memory (one machine)
    public const int ModeNoCheck = 1;      // MPI_MODE_NOCHECK

    public readonly nint CommWorld, Float, Double, Sum, Max, Min, InfoNull;
    public readonly delegate* unmanaged<int*, nint*, int, int*, int> InitThread;
    public readonly delegate* unmanaged<int*, int> Initialized;
    public readonly delegate* unmanaged<int*, int> Finalized;
    public readonly delegate* unmanaged<nint, int*, int> CommRank;
    public readonly delegate* unmanaged<nint, int*, int> CommSize;
    public readonly delegate* unmanaged<nint, void*, int, nint, nint, nint, int> Allreduce;
    public readonly delegate* unmanaged<void*, void*, int*, nint, nint, nint, int> ReduceScatter;
    public readonly delegate* unmanaged<nint, int, nint, void*, int*, int*, nint, nint, int> Allgatherv;
    public readonly delegate* unmanaged<void*, int, nint, int, nint, int> Bcast;
    public readonly delegate* unmanaged<nint, int> Barrier;
    public readonly delegate* unmanaged<nint, int, int> Abort;
    public readonly delegate* unmanaged<int> Finalize;
    public readonly delegate* unmanaged<nint, int, int, nint, nint*, int> CommSplitType;
    public readonly delegate* unmanaged<nint, int, int, nint*, int> CommSplit;
    public readonly delegate* unmanaged<nint*, int> CommFree;
    public readonly delegate* unmanaged<nint, int, nint, nint, void*, nint*, int> WinAllocateShared;
    public readonly delegate* unmanaged<nint, int, nint*, int*, void*, int> WinSharedQuery;
    public readonly delegate* unmanaged<int, nint, int> WinLockAll;
    public readonly delegate* unmanaged<nint, int> WinUnlockAll;
    public readonly delegate* unmanaged<nint, int> WinSync;
    public readonly delegate* unmanaged<nint*, int> WinFree;

    private MpiNative(nint lib)
    {
        CommWorld = NativeLibrary.GetExport(lib, "ompi_mpi_comm_world");
        Float = NativeLibrary.GetExport(lib, "ompi_mpi_float");
        Double = NativeLibrary.GetExport(lib, "ompi_mpi_double");
        Sum = NativeLibrary.GetExport(lib, "ompi_mpi_op_sum");
        Max = NativeLibrary.GetExport(lib, "ompi_mpi_op_max");
        Min = NativeLibrary.GetExport(lib, "ompi_mpi_op_min");
        InfoNull = NativeLibrary.GetExport(lib, "ompi_mpi_info_null");
        InitThread = (delegate* unmanaged<int*, nint*, int, int*, int>)NativeLibrary.GetExport(lib, "MPI_Init_thread");
        Initialized = (delegate* unmanaged<int*, int>)NativeLibrary.GetExport(lib, "MPI_Initialized");
        Finalized = (delegate* unmanaged<int*, int>)NativeLibrary.GetExport(lib, "MPI_Finalized");
        CommRank = (delegate* unmanaged<nint, int*, int>)NativeLibrary.GetExport(lib, "MPI_Comm_rank");
        CommSize = (delegate* unmanaged<nint, int*, int>)NativeLibrary.GetExport(lib, "MPI_Comm_size");
        Allreduce = (delegate* unmanaged<nint, void*, int, nint, nint, nint, int>)NativeLibrary.GetExport(lib, "MPI_Allreduce");
        ReduceScatter = (delegate* unmanaged<void*, void*, int*, nint, nint, nint, int>)NativeLibrary.GetExport(lib, "MPI_Reduce_scatter");
        Allgatherv = (delegate* unmanaged<nint, int, nint, void*, int*, int*, nint, nint, int>)NativeLibrary.GetExport(lib, "MPI_Allgatherv");
        Bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)NativeLibrary.GetExport(lib, "MPI_Bcast");
        Barrier = (delegate* unmanaged<nint, int>)NativeLibrary.GetExport(lib, "MPI_Barrier");
        Abort = (delegate* unmanaged<nint, int, int>)NativeLibrary.GetExport(lib, "MPI_Abort");
        Finalize = (delegate* unmanaged<int>)NativeLibrary.GetExport(lib, "MPI_Finalize");
        CommSplitType = (delegate* unmanaged<nint, int, int, nint, nint*, int>)NativeLibrary.GetExport(lib, "MPI_Comm_split_type");
        CommSplit = (delegate* unmanaged<nint, int, int, nint*, int>)NativeLibrary.GetExport(lib, "MPI_Comm_split");
        CommFree = (delegate* unmanaged<nint*, int>)NativeLibrary.GetExport(lib, "MPI_Comm_free");
        WinAllocateShared = (delegate* unmanaged<nint, int, nint, nint, void*, nint*, int>)NativeLibrary.GetExport(lib, "MPI_Win_allocate_shared");
        WinSharedQuery = (delegate* unmanaged<nint, int, nint*, int*, void*, int>)NativeLibrary.GetExport(lib, "MPI_Win_shared_query");
        WinLockAll = (delegate* unmanaged<int, nint, int>)NativeLibrary.GetExport(lib, "MPI_Win_lock_all");
        WinUnlockAll = (delegate* unmanaged<nint, int>)NativeLibrary.GetExport(lib, "MPI_Win_unlock_all");
        WinSync = (delegate* unmanaged<nint, int>)NativeLibrary.GetExport(lib, "MPI_Win_sync");
        WinFree = (delegate* unmanaged<nint*, int>)NativeLibrary.GetExport(lib, "MPI_Win_free");
    }

    /// <summary>Throws when an MPI function named <paramref name="name"/> returned an error code.</summary>
    public static void Check(int result, string name)
    {
        if (result != 0) throw new InvalidOperationException($"{name} failed with MPI error code {result}.");
    }

    private static MpiNative? loaded;

    /// <summary>The bound API, or null (with the reason) when Open MPI's library cannot be loaded.</summary>
    public static MpiNative? TryLoad(out string? reason)
    {
        reason = null;
        if (loaded is not null) return loaded;
        if (!OperatingSystem.IsLinux())
        {
            reason = $"Open MPI's {LibraryName} is a Linux library; this is {RuntimeInformation.OSDescription}";
            return null;
        }
        // RTLD_GLOBAL: Open MPI's plugins (dlopen'ed by MPI_Init) resolve symbols of libmpi and libopen-pal through it.
        nint lib = DlOpen(LibraryName, RtldNow | RtldGlobal);
        if (lib == 0 && !NativeLibrary.TryLoad(LibraryName, out lib))
        {
            reason = $"cannot load {LibraryName}";
            return null;
        }
        try
        {
            return loaded = new MpiNative(lib);
        }
        catch (EntryPointNotFoundException e)
        {
            reason = $"{LibraryName} is not Open MPI's ({e.Message})";
            return null;
        }
    }

    private const int RtldNow = 2, RtldGlobal = 0x100;

    [DllImport("libc", EntryPoint = "dlopen")]
    private static extern nint DlOpenNative(byte* file, int mode);

    private static nint DlOpen(string file, int mode)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(file + "\0");
        try
        {
            fixed (byte* p = bytes) return DlOpenNative(p, mode);
        }
        catch (DllNotFoundException)
        {
            return 0;
        }
        catch (EntryPointNotFoundException)
        {
            return 0;
        }
    }
}
