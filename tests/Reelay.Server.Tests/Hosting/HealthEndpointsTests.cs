using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Reelay.Jobs;
using Reelay.Providers.Http;
using Reelay.Server.Health;
using Reelay.Server.Tests.Support;
using Reelay.Storage;
using Reelay.Storage.Sqlite;

namespace Reelay.Server.Tests.Hosting;

/// <summary>Issue 16 item 2: /healthz (liveness) and /readyz (store, storage, ffmpeg, providers), details for admins only.</summary>
public sealed class HealthEndpointsTests
{
    private const string UpstreamKey = "sk-health-test-secret-0123456789";

    [Fact]
    public async Task Healthz_AnonymousCaller_200HealthyWithoutDetails()
    {
        await using var server = await ReelayTestServer.StartAsync();
        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };

        using var response = await anonymous.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("""{"status":"Healthy"}""", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Readyz_AdminKey_200WithEveryCheckDetailedAndNoSecrets()
    {
        await using var server = await ReelayTestServer.StartAsync(new()
        {
            ["Reelay:Providers:up:Type"] = "modelverse",
            ["Reelay:Providers:up:BaseUrl"] = "http://127.0.0.1:9/private-path/",
            ["Reelay:Providers:up:ApiKey"] = UpstreamKey,
        });

        using var response = await server.Http.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        var root = JsonDocument.Parse(text).RootElement;
        Assert.Equal("Healthy", root.GetProperty("status").GetString());
        var checks = root.GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        Assert.Equal(["circuits", "ffmpeg", "provider:sandbox", "provider:up", "shutdown", "storage", "store"], checks.Keys.Order(StringComparer.Ordinal));
        foreach (var check in checks.Values)
        {
            Assert.Equal("Healthy", check.GetProperty("status").GetString());
            Assert.True(check.GetProperty("duration_ms").GetDouble() >= 0);
            Assert.False(string.IsNullOrEmpty(check.GetProperty("description").GetString()));
        }

        Assert.StartsWith("ffmpeg version", checks["ffmpeg"].GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(UpstreamKey, text, StringComparison.Ordinal);
        Assert.DoesNotContain("private-path", text, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readyz_AnonymousOrWrongKey_OnlyTheOverallStatus()
    {
        await using var server = await ReelayTestServer.StartAsync();
        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };
        using var wrong = new HttpClient { BaseAddress = server.BaseAddress };
        wrong.DefaultRequestHeaders.Authorization = new("Bearer", "rk_test_not_a_key");

        using var first = await anonymous.GetAsync("/readyz");
        using var second = await wrong.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("""{"status":"Healthy"}""", await first.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("""{"status":"Healthy"}""", await second.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Readyz_ResultFolderCannotBeWritten_503WithStorageUnhealthy()
    {
        await using var server = await ReelayTestServer.StartAsync();
        // Root ignores permissions, so break the folder for real: the temporary folder every write goes through becomes a file.
        var temp = Path.Combine(server.DataDirectory, "files", ".tmp");
        Directory.Delete(temp, recursive: true);
        await File.WriteAllTextAsync(temp, "not a folder");
        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };

        using var plain = await anonymous.GetAsync("/readyz");
        using var detailed = await server.Http.GetAsync("/readyz");
        using var live = await anonymous.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, plain.StatusCode);
        Assert.Equal("""{"status":"Unhealthy"}""", await plain.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, detailed.StatusCode);
        var storage = Check(await detailed.Content.ReadAsStringAsync(), "storage");
        Assert.Equal("Unhealthy", storage.GetProperty("status").GetString());
        Assert.StartsWith("the result storage failed: the result folder cannot be written", storage.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    [Fact]
    public async Task Readyz_JobStoreFails_503WithStoreUnhealthyAndBackWhenItAnswers()
    {
        BreakableJobStore? store = null;
        await using var server = await ReelayTestServer.StartAsync(services: s =>
            s.AddSingleton<IJobStore>(sp => store = new BreakableJobStore(sp.GetRequiredService<SqliteJobStore>())));
        using var before = await server.Http.GetAsync("/readyz");
        Assert.NotNull(store);

        store.Broken = true;
        using var broken = await server.Http.GetAsync("/readyz");
        store.Broken = false;
        using var after = await server.Http.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, broken.StatusCode);
        var check = Check(await broken.Content.ReadAsStringAsync(), "store");
        Assert.Equal("Unhealthy", check.GetProperty("status").GetString());
        Assert.Equal("the job store failed: IOException: disk I/O error (test)", check.GetProperty("description").GetString());
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task ProviderCheck_CircuitOffAndThreeFailedCallsInARow_DegradedUntilAnAnswer()
    {
        var handler = new StatusHandler { Status = HttpStatusCode.BadGateway };
        using var client = new UpstreamHttpClient("up", new Uri("http://127.0.0.1:9/private-path/"), TimeSpan.FromSeconds(5), 0, TimeProvider.System, handler);
        var check = new ProviderHealthCheck("up", client, circuits: null);
        var context = new HealthCheckContext { Registration = new HealthCheckRegistration("provider:up", check, HealthStatus.Degraded, null) };

        var fresh = await check.CheckHealthAsync(context, CancellationToken.None);
        for (var i = 0; i < ProviderHealthCheck.FailureThreshold; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, client.Url("v1/tasks/status"));
            await client.SendAsync(request, CancellationToken.None);
        }

        var failing = await check.CheckHealthAsync(context, CancellationToken.None);
        handler.Status = HttpStatusCode.OK;
        using (var request = new HttpRequestMessage(HttpMethod.Get, client.Url("v1/tasks/status")))
        {
            await client.SendAsync(request, CancellationToken.None);
        }

        var recovered = await check.CheckHealthAsync(context, CancellationToken.None);

        Assert.Equal(HealthStatus.Healthy, fresh.Status);
        Assert.Equal(HealthStatus.Degraded, failing.Status);
        Assert.Equal($"the last {ProviderHealthCheck.FailureThreshold} upstream calls failed (no answer, timeout or 5xx)", failing.Description);
        Assert.Equal(HealthStatus.Healthy, recovered.Status);
    }

    private static JsonElement Check(string body, string name) =>
        JsonDocument.Parse(body).RootElement.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name).Clone();

    private sealed class StatusHandler : HttpMessageHandler
    {
        public HttpStatusCode Status { get; set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(Status) { Content = new StringContent("{}") });
    }

    /// <summary>The real store, failing every call while <see cref="Broken"/>.</summary>
    private sealed class BreakableJobStore(IJobStore inner) : IJobStore
    {
        private const string Failure = "disk I/O error (test)";

        public bool Broken { get; set; }

        public Task InitializeAsync(CancellationToken cancellationToken) => inner.InitializeAsync(cancellationToken);

        public Task<Job> InsertAsync(Job job, CancellationToken cancellationToken) => Broken ? throw new IOException(Failure) : inner.InsertAsync(job, cancellationToken);

        public Task<Job> InsertAsync(Job job, Reelay.Accounts.JobAdmission admission, CancellationToken cancellationToken) => Broken ? throw new IOException(Failure) : inner.InsertAsync(job, admission, cancellationToken);

        public Task<Job?> GetAsync(string id, CancellationToken cancellationToken) => Broken ? throw new IOException(Failure) : inner.GetAsync(id, cancellationToken);

        public Task<Job?> TryUpdateAsync(Job job, CancellationToken cancellationToken) => Broken ? throw new IOException(Failure) : inner.TryUpdateAsync(job, cancellationToken);

        public Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken) => Broken ? throw new IOException(Failure) : inner.ListAsync(query, cancellationToken);

        public Task<IReadOnlyList<Job>> ListActiveAsync(CancellationToken cancellationToken) => Broken ? throw new IOException(Failure) : inner.ListActiveAsync(cancellationToken);

        public Task<IReadOnlyList<Job>> ListExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) => Broken ? throw new IOException(Failure) : inner.ListExpiredAsync(now, limit, cancellationToken);

    }
}
