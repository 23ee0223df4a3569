using System.Net;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Reelay.Server.Callbacks;

namespace Reelay.Server.Tests.Callbacks;

/// <summary>
/// The JWKS cache both webhook verifiers share, driven by a fake clock and an in-memory handler that answers each fetch
/// with the next scripted body (or status): keys are kept for 12 h, fetched again at most once a minute when none
/// verifies, and a failed fetch keeps the keys held before.
/// </summary>
public sealed class JwksKeyCacheTests
{
    private static readonly Uri Jwks = new("https://keys.example/jwks.json");

    [Fact]
    public async Task VerifyAsync_KeyVerifiesFromTheCache_FetchesOnceUntilTheCacheExpires()
    {
        var time = new FakeTimeProvider();
        var handler = new ScriptedHandler("a", "b");
        using var cache = new JwksKeyCache<string>(time, Parse, handler);

        Assert.True(await cache.VerifyAsync(Jwks, Accepts("a"), CancellationToken.None));
        time.Advance(TimeSpan.FromHours(11));
        Assert.True(await cache.VerifyAsync(Jwks, Accepts("a"), CancellationToken.None));
        Assert.Equal(1, handler.Fetches);

        time.Advance(TimeSpan.FromHours(2));
        Assert.True(await cache.VerifyAsync(Jwks, Accepts("b"), CancellationToken.None));
        Assert.Equal(2, handler.Fetches);
    }

    [Fact]
    public async Task VerifyAsync_NoKeyVerifies_RefetchesAtMostOnceAMinute()
    {
        var time = new FakeTimeProvider();
        var handler = new ScriptedHandler("old", "new", "newer");
        using var cache = new JwksKeyCache<string>(time, Parse, handler);

        Assert.False(await cache.VerifyAsync(Jwks, Accepts("new"), CancellationToken.None));
        Assert.Equal(1, handler.Fetches);

        time.Advance(TimeSpan.FromSeconds(61));
        Assert.True(await cache.VerifyAsync(Jwks, Accepts("new"), CancellationToken.None));
        Assert.Equal(2, handler.Fetches);

        Assert.False(await cache.VerifyAsync(Jwks, Accepts("newer"), CancellationToken.None));
        Assert.Equal(2, handler.Fetches);
    }

    [Fact]
    public async Task VerifyAsync_FetchFails_KeepsTheKeysHeldBeforeAndTriesAgainAfterAMinute()
    {
        var time = new FakeTimeProvider();
        var handler = new ScriptedHandler("a", null, "not json", "b");
        using var cache = new JwksKeyCache<string>(time, Parse, handler);
        Assert.True(await cache.VerifyAsync(Jwks, Accepts("a"), CancellationToken.None));

        time.Advance(TimeSpan.FromHours(13));
        Assert.True(await cache.VerifyAsync(Jwks, Accepts("a"), CancellationToken.None));
        Assert.Equal(2, handler.Fetches);
        Assert.True(await cache.VerifyAsync(Jwks, Accepts("a"), CancellationToken.None));
        Assert.Equal(2, handler.Fetches);

        time.Advance(TimeSpan.FromSeconds(61));
        Assert.True(await cache.VerifyAsync(Jwks, Accepts("a"), CancellationToken.None));
        Assert.Equal(3, handler.Fetches);

        time.Advance(TimeSpan.FromSeconds(61));
        Assert.True(await cache.VerifyAsync(Jwks, Accepts("b"), CancellationToken.None));
        Assert.Equal(4, handler.Fetches);
    }

    // The "keys" of a scripted body are its one word; a body that is not a word is unreadable, as a JWKS parser says.
    private static IReadOnlyList<string> Parse(byte[] body)
    {
        var text = Encoding.UTF8.GetString(body);
        return text.All(char.IsLetter) ? [text] : throw new ArgumentException("not a JWKS");
    }

    private static Func<IReadOnlyList<string>, ValueTask<bool>> Accepts(string key) => keys => ValueTask.FromResult(keys.Contains(key));

    /// <summary>Answers the n-th request with the n-th body (null: a 503); the last body again after the script ends.</summary>
    private sealed class ScriptedHandler(params string?[] bodies) : HttpMessageHandler
    {
        public int Fetches { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = bodies[Math.Min(Fetches, bodies.Length - 1)];
            Fetches++;
            return Task.FromResult(body is null
                ? new HttpResponseMessage(HttpStatusCode.ServiceUnavailable)
                : new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body) });
        }
    }
}
