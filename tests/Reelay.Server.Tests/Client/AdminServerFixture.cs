using Reelay.Client;
using Reelay.Client.Admin;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Client;

/// <summary>
/// A real gateway where sandbox jobs cost $0.01 per second, an SDK client with its admin key, and (made once, on
/// first use) a client key that has run one 1-second sandbox job whose charge has settled.
/// </summary>
public sealed class AdminServerFixture : IAsyncLifetime
{
    public const decimal PricePerSecond = 0.01m;

    private readonly SemaphoreSlim _paidJobLock = new(1, 1);
    private PaidJob? _paidJob;

    public ReelayTestServer Server { get; private set; } = null!;

    public ReelayClient Admin { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await ReelayTestServer.StartAsync(new() { ["Reelay:Pricing:sandbox:*"] = PricePerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        Admin = ClientFor(Server.ApiKey);
    }

    public async Task DisposeAsync()
    {
        _paidJobLock.Dispose();
        await Server.DisposeAsync();
    }

    public ReelayClient ClientFor(string apiKey) =>
        new(new HttpClient(), new ReelayClientOptions { BaseAddress = Server.BaseAddress, ApiKey = apiKey, Timeout = TimeSpan.FromSeconds(60) });

    /// <summary>A client key that ran one sandbox job to completion, and that job's settled charge.</summary>
    public async Task<PaidJob> PaidJobAsync()
    {
        await _paidJobLock.WaitAsync();
        try
        {
            return _paidJob ??= await RunPaidJobAsync();
        }
        finally
        {
            _paidJobLock.Release();
        }
    }

    /// <summary>Waits until the job's charge is no longer held.</summary>
    public async Task<Charge> WaitChargeClosedAsync(string jobId)
    {
        var until = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var charge = await Admin.GetChargeAsync(jobId);
            if (charge.State != ChargeState.Held)
            {
                return charge;
            }

            Assert.True(DateTime.UtcNow < until, $"the charge of {jobId} did not close");
            await Task.Delay(50);
        }
    }

    private async Task<PaidJob> RunPaidJobAsync()
    {
        var key = await Admin.CreateApiKeyAsync(new CreateApiKeyRequest { Name = "spender " + Guid.NewGuid().ToString("N")[..6], BudgetUsd = 1m });
        var client = ClientFor(key.Key!);
        var video = await client.CreateVideoAsync(new CreateVideoRequest { Model = "sandbox", Prompt = "a paid job", Seconds = 1, Size = "160x90" });
        video = await client.WaitForCompletionAsync(video.Id, pollInterval: TimeSpan.FromMilliseconds(50));
        Assert.Equal(VideoStatus.Completed, video.Status);
        var charge = await WaitChargeClosedAsync(video.Id);
        Assert.Equal(ChargeState.Settled, charge.State);
        return new PaidJob(key, key.Key!, video, charge);
    }
}

public sealed record PaidJob(ApiKey Key, string Secret, Video Video, Charge Charge);
