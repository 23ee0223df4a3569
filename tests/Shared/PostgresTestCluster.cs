using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Npgsql;

namespace Reelay.Testing;

/// <summary>
/// A private PostgreSQL cluster for one test run: initdb in a temporary folder, listening on 127.0.0.1 on a free
/// port only, fsync off (its data is thrown away), started on first use and stopped when the test process exits.
/// Each test class (or test) asks it for a fresh database of its own with <see cref="CreateDatabaseAsync"/>, so tests
/// stay independent and can run in parallel.
/// <para>
/// When the environment variable <c>REELAY_TEST_POSTGRES</c> holds a connection string (a role that may create
/// databases), that server is used instead and nothing is started. PostgreSQL refuses to run as root, so when the tests
/// run as root its programs run as the <c>postgres</c> user (which Debian's package creates) through <c>runuser</c>.
/// A cluster left behind by a killed test run is stopped and deleted by the next run. Nothing here skips: when
/// PostgreSQL cannot start, every test that needs it fails with the reason.
/// </para>
/// </summary>
internal sealed class PostgresTestCluster
{
    /// <summary>The environment variable that names an existing server to use instead of a private cluster.</summary>
    public const string ServerVariable = "REELAY_TEST_POSTGRES";

    private const string FolderPrefix = "reelay-pg-";
    private const string OwnerFile = "owner.pid";
    private const string SystemUser = "postgres";
    private const string Role = "reelay";

    private static readonly Lazy<Task<PostgresTestCluster>> Shared = new(StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly string? _folder;
    private readonly string? _binDirectory;

    private PostgresTestCluster(string adminConnectionString, string? folder, string? binDirectory, string? password)
    {
        AdminConnectionString = adminConnectionString;
        _folder = folder;
        _binDirectory = binDirectory;
        Password = password;
    }

    /// <summary>A connection string to the cluster's <c>postgres</c> database, as a role that may create databases.</summary>
    public string AdminConnectionString { get; }

    /// <summary>The role's password in a private cluster (null with <c>REELAY_TEST_POSTGRES</c>).</summary>
    public string? Password { get; }

    /// <summary>The server's log file in a private cluster (null with <c>REELAY_TEST_POSTGRES</c>); deleted with the cluster.</summary>
    public string? ServerLogPath => _folder is null ? null : Path.Combine(_folder, "server.log");

    /// <summary>The cluster of this test run, started on the first call.</summary>
    public static Task<PostgresTestCluster> GetAsync() => Shared.Value;

    /// <summary>Creates a new, empty database with a random name; disposing the result drops it.</summary>
    public static async Task<PostgresTestDatabase> CreateDatabaseAsync()
    {
        var cluster = await GetAsync();
        var name = "reelay_test_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        await using (var connection = new NpgsqlConnection(cluster.AdminConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'", connection);
            await command.ExecuteNonQueryAsync();
        }

        var builder = new NpgsqlConnectionStringBuilder(cluster.AdminConnectionString)
        {
            Database = name,
            // Many small databases live side by side in one run; idle connections go back quickly.
            MaxPoolSize = 20,
            ConnectionIdleLifetime = 10,
        };
        return new PostgresTestDatabase(cluster, name, builder.ConnectionString);
    }

    internal async Task DropDatabaseAsync(string name)
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }

    private static Task<PostgresTestCluster> StartAsync() => Task.Run(() =>
    {
        if (Environment.GetEnvironmentVariable(ServerVariable) is { Length: > 0 } external)
        {
            return new PostgresTestCluster(external, folder: null, binDirectory: null, password: null);
        }

        var bin = FindBinDirectory();
        RemoveStaleClusters(bin);
        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                return StartPrivate(bin);
            }
            catch (PortTakenException e)
            {
                // Another process took the free port between our probe and the server's bind: try another one.
                last = e;
            }
        }

        throw new InvalidOperationException("The private PostgreSQL cluster could not bind a free loopback port.", last);
    });

    private static PostgresTestCluster StartPrivate(string bin)
    {
        var folder = Directory.CreateTempSubdirectory(FolderPrefix).FullName;
        File.WriteAllText(Path.Combine(folder, OwnerFile), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var passwordFile = Path.Combine(folder, "pwfile");
        File.WriteAllText(passwordFile, password + "\n");
        if (RunsAsRoot)
        {
            Run("chown", ["-R", $"{SystemUser}:{SystemUser}", folder], asPostgres: false);
        }

        var data = Path.Combine(folder, "data");
        Run(Path.Combine(bin, "initdb"),
            ["-D", data, "-U", Role, "--pwfile", passwordFile, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync"],
            asPostgres: true);
        File.Delete(passwordFile);

        var port = FreePort();
        File.AppendAllText(Path.Combine(data, "postgresql.conf"), $"""

            # Reelay test cluster: loopback only, on a port chosen at run time; durability off, the data is thrown away.
            listen_addresses = '127.0.0.1'
            port = {port}
            unix_socket_directories = '{folder}'
            fsync = off
            synchronous_commit = off
            full_page_writes = off
            max_connections = 400
            shared_buffers = 32MB
            """);

        var log = Path.Combine(folder, "server.log");
        var cluster = new PostgresTestCluster(
            new NpgsqlConnectionStringBuilder
            {
                Host = "127.0.0.1",
                Port = port,
                Username = Role,
                Password = password,
                Database = "postgres",
                Pooling = true,
                MaxPoolSize = 10,
            }.ConnectionString,
            folder, bin, password);
        try
        {
            Run(Path.Combine(bin, "pg_ctl"), ["-D", data, "-l", log, "-w", "-t", "60", "start"], asPostgres: true);
        }
        catch (InvalidOperationException e)
        {
            var text = File.Exists(log) ? File.ReadAllText(log) : "";
            cluster.Stop();
            if (text.Contains("could not bind", StringComparison.Ordinal) || text.Contains("Address already in use", StringComparison.Ordinal))
            {
                throw new PortTakenException(e);
            }

            throw new InvalidOperationException($"The private PostgreSQL cluster did not start. Its log:\n{text}", e);
        }

        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.Stop();
        StartWatchdog(bin, folder);
        return cluster;
    }

    /// <summary>
    /// The test host is often ended without running exit handlers, so a detached shell (double-forked, hence outside the
    /// host's process tree) waits for this process to end and then stops the server and deletes its folder.
    /// </summary>
    private static void StartWatchdog(string bin, string folder)
    {
        var pgCtl = Path.Combine(bin, "pg_ctl");
        var stop = RunsAsRoot ? $"runuser -u {SystemUser} -- '{pgCtl}'" : $"'{pgCtl}'";
        var loop = $"while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 1; done; "
            + $"{stop} -D '{Path.Combine(folder, "data")}' -m immediate -w -t 20 stop; rm -rf '{folder}'";
        Run("sh", ["-c", $"sh -c \"{loop}\" </dev/null >/dev/null 2>&1 &"], asPostgres: false);
    }

    /// <summary>Stops the server at once (its data is disposable) and deletes the folder.</summary>
    private void Stop()
    {
        if (_folder is null || _binDirectory is null)
        {
            return;
        }

        StopFolder(_binDirectory, _folder);
    }

    private static void StopFolder(string bin, string folder)
    {
        var data = Path.Combine(folder, "data");
        if (File.Exists(Path.Combine(data, "postmaster.pid")))
        {
            try
            {
                Run(Path.Combine(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "-t", "20", "stop"], asPostgres: true);
            }
            catch (InvalidOperationException)
            {
                // Not running any more (the pid file is stale); deleting the folder is all that is left.
            }
        }

        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Stops and deletes the clusters of earlier test runs whose process is gone (killed before it could stop them).</summary>
    private static void RemoveStaleClusters(string bin)
    {
        foreach (var folder in Directory.EnumerateDirectories(Path.GetTempPath(), FolderPrefix + "*"))
        {
            var ownerFile = Path.Combine(folder, OwnerFile);
            if (!File.Exists(ownerFile) || !int.TryParse(File.ReadAllText(ownerFile).Trim(), out var owner) || IsAlive(owner))
            {
                continue;
            }

            StopFolder(bin, folder);
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static string FindBinDirectory()
    {
        try
        {
            var fromConfig = Run("pg_config", ["--bindir"], asPostgres: false).Trim();
            if (File.Exists(Path.Combine(fromConfig, "initdb")))
            {
                return fromConfig;
            }
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // No pg_config (Debian ships it in libpq-dev); look where Debian installs the servers.
        }

        const string debian = "/usr/lib/postgresql";
        var found = Directory.Exists(debian)
            ? Directory.EnumerateDirectories(debian)
                .Select(d => (Dir: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                .Where(d => File.Exists(Path.Combine(d.Dir, "initdb")))
                .OrderByDescending(d => d.Version)
                .Select(d => d.Dir)
                .FirstOrDefault()
            : null;
        return found ?? throw new InvalidOperationException(
            $"PostgreSQL's server programs (initdb, pg_ctl) were not found: run scripts/prereqs.sh test, or set {ServerVariable} to a connection string of a server to use.");
    }

    private static bool RunsAsRoot => Environment.IsPrivilegedProcess;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Run(string program, IReadOnlyList<string> arguments, bool asPostgres)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asPostgres && RunsAsRoot)
        {
            start.FileName = "runuser";
            foreach (var a in (string[])["-u", SystemUser, "--", program])
            {
                start.ArgumentList.Add(a);
            }
        }
        else
        {
            start.FileName = program;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(90)))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{Path.GetFileName(program)} did not finish within 90 seconds.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(program)} {string.Join(' ', arguments)} exited with {process.ExitCode}: {error.Result}{output.Result}");
        }

        return output.Result;
    }

    private sealed class PortTakenException(Exception inner) : Exception("The port was taken.", inner);
}

/// <summary>A database of its own in the test cluster; disposing drops it (closing its connections).</summary>
internal sealed class PostgresTestDatabase : IAsyncDisposable
{
    private readonly PostgresTestCluster _cluster;

    internal PostgresTestDatabase(PostgresTestCluster cluster, string name, string connectionString)
    {
        _cluster = cluster;
        Name = name;
        ConnectionString = connectionString;
    }

    /// <summary>The database's name.</summary>
    public string Name { get; }

    /// <summary>A connection string to it (Npgsql).</summary>
    public string ConnectionString { get; }

    /// <summary>The cluster it lives in.</summary>
    public PostgresTestCluster Cluster => _cluster;

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await _cluster.DropDatabaseAsync(Name);
}
