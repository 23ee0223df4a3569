using System.Globalization;
using System.Text;

namespace Reelay.Bench.Support;

/// <summary>
/// What explains a failed cluster run, kept before the temporary folder and the nodes go: when a submit is answered
/// with a 5xx or a node exits on its own, every node's log (each incarnation: a killed node's log before its restart
/// too) and the private PostgreSQL's server log are copied to a <c>cluster-&lt;UTC time&gt;</c> folder under the bench's
/// output folder (<c>--cluster-logs</c>), and the first error lines are printed.
/// </summary>
internal sealed class ClusterEvidence(string outputRoot)
{
    private const int MaxCopiedBytes = 8 * 1024 * 1024;
    private readonly object _gate = new();
    private readonly List<(string Name, string Log)> _retired = [];
    private readonly List<string> _reasons = [];

    /// <summary>Whether anything happened that the logs should explain.</summary>
    public bool HasReasons
    {
        get
        {
            lock (_gate)
            {
                return _reasons.Count > 0;
            }
        }
    }

    /// <summary>Records why the logs are worth keeping (a 5xx answer, a node that exited).</summary>
    public void Note(string reason)
    {
        lock (_gate)
        {
            if (_reasons.Count < 1000)
            {
                _reasons.Add($"{DateTime.UtcNow:HH:mm:ss.fff}Z {reason}");
            }
        }
    }

    /// <summary>Keeps the log of a node process that is about to be replaced (a killed node started again).</summary>
    public void Retire(string name, ServeProcess node)
    {
        lock (_gate)
        {
            _retired.Add((name, node.Output));
        }
    }

    /// <summary>Notes every node that exited without the benchmark stopping it.</summary>
    public void CheckExits(IReadOnlyList<ServeProcess> nodes)
    {
        for (var i = 0; i < nodes.Count; i++)
        {
            if (nodes[i].ExitedUnexpectedly && !HasNoted($"node-{i} (pid {nodes[i].Id}) exited"))
            {
                Note($"node-{i} (pid {nodes[i].Id}) exited on its own with code {nodes[i].ExitCode}");
            }
        }
    }

    /// <summary>
    /// When there is a reason, writes the logs to a new folder under the output folder and prints where, and the first
    /// error lines; returns the folder, or null when there was nothing to keep.
    /// </summary>
    public string? SaveIfNeeded(IReadOnlyList<ServeProcess> nodes, string? postgresLog)
    {
        CheckExits(nodes);
        List<string> reasons;
        List<(string Name, string Log)> logs;
        lock (_gate)
        {
            if (_reasons.Count == 0)
            {
                return null;
            }

            reasons = [.. _reasons];
            logs = [.. _retired];
        }

        logs.AddRange(nodes.Select((n, i) => ($"node-{i}", n.Output)));
        var folder = Path.GetFullPath(Path.Combine(outputRoot, "cluster-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)));
        Directory.CreateDirectory(folder);
        File.WriteAllLines(Path.Combine(folder, "reasons.txt"), reasons);
        var runs = new Dictionary<string, int>();
        var files = new List<(string File, string Log)>();
        foreach (var (name, log) in logs)
        {
            var run = runs[name] = runs.GetValueOrDefault(name) + 1;
            var file = $"{name}.run{run}.log";
            File.WriteAllText(Path.Combine(folder, file), log);
            files.Add((file, log));
        }

        if (postgresLog is not null && File.Exists(postgresLog))
        {
            try
            {
                File.WriteAllBytes(Path.Combine(folder, "postgresql.log"), Tail(postgresLog));
            }
            catch (IOException e)
            {
                Report.Line($"The PostgreSQL log could not be copied: {e.Message}");
            }
            catch (UnauthorizedAccessException e)
            {
                Report.Line($"The PostgreSQL log could not be copied: {e.Message}");
            }
        }

        Report.Line($"Why the logs were kept ({reasons.Count}): {string.Join("; ", reasons.Take(5))}{(reasons.Count > 5 ? "; ..." : "")}");
        var errors = FirstErrorLines(files, 12);
        Report.Line(errors.Count == 0 ? "No error or warning lines in the nodes' logs." : "First error lines of the nodes' logs:");
        foreach (var line in errors)
        {
            Report.Line("  " + line);
        }

        Report.Line($"The nodes' logs (and PostgreSQL's) are kept in {folder}");
        return folder;
    }

    /// <summary>The first lines logged at fail or crit (at warn when there are none), each prefixed with its file.</summary>
    internal static List<string> FirstErrorLines(IEnumerable<(string File, string Log)> logs, int max)
    {
        var all = logs.SelectMany(l => l.Log.Split('\n').Select(line => (l.File, Line: line.TrimEnd('\r')))).ToList();
        foreach (var levels in new[] { new[] { " fail: ", " crit: ", "Unhandled exception" }, new[] { " warn: " } })
        {
            var found = all.Where(x => levels.Any(level => x.Line.Contains(level, StringComparison.Ordinal)))
                .Take(max)
                .Select(x => $"{x.File}: {Shorten(x.Line, 400)}")
                .ToList();
            if (found.Count > 0)
            {
                return found;
            }
        }

        return [];
    }

    private bool HasNoted(string prefix)
    {
        lock (_gate)
        {
            return _reasons.Any(r => r.Contains(prefix, StringComparison.Ordinal));
        }
    }

    private static byte[] Tail(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var length = (int)Math.Min(file.Length, MaxCopiedBytes);
        file.Seek(-length, SeekOrigin.End);
        var bytes = new byte[length];
        file.ReadExactly(bytes);
        return bytes;
    }

    private static string Shorten(string text, int max) => text.Length <= max ? text : text[..max] + "...";

    /// <summary>The first characters of an answer's body, on one line, for a reason.</summary>
    public static string Excerpt(string body) => Shorten(new StringBuilder(body).Replace('\n', ' ').Replace('\r', ' ').ToString(), 300);
}
