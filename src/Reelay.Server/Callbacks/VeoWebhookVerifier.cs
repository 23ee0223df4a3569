using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Reelay.Server.Callbacks;

/// <summary>
/// Verifies the signature of a Veo per-request webhook (Gemini API <c>webhookConfig</c>; provider-apis-live.md §2.10):
/// an RS256 JWT in the <c>Webhook-Signature</c> header whose <c>aud</c> is the URL Reelay gave (the job's callback URL),
/// signed by a key of the JWKS at the instance's JwksUrl (Google's by default), unexpired. The JWT is checked by
/// Microsoft.IdentityModel.JsonWebTokens; only the JWKS fetch and its cache are ours (as for fal: fetched once, kept for
/// <see cref="CacheFor"/>, fetched again at most once a minute when no key verifies, since keys rotate). The issuer is not
/// checked: the reference does not name it. A verified webhook is still only a hint to poll now.
/// </summary>
public sealed class VeoWebhookVerifier : IDisposable
{
    /// <summary>Google's JWKS for webhook signatures (provider-apis-live.md §2.10).</summary>
    public const string DefaultJwksUrl = "https://generativelanguage.googleapis.com/.well-known/jwks.json";

    /// <summary>The header that carries the JWT.</summary>
    public const string SignatureHeader = "Webhook-Signature";

    /// <summary>How long fetched keys are used.</summary>
    public static readonly TimeSpan CacheFor = JwksKeyCache<SecurityKey>.CacheFor;

    private const int MaxTokenLength = 16 * 1024;
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _time;
    private readonly JsonWebTokenHandler _tokens = new();
    private readonly JwksKeyCache<SecurityKey> _jwks;

    /// <summary>Creates the verifier.</summary>
    public VeoWebhookVerifier(TimeProvider time)
    {
        _time = time;
        _jwks = new JwksKeyCache<SecurityKey>(time, RsaKeys);
    }

    /// <summary>True when <paramref name="signature"/> (the header's value) is a valid, unexpired RS256 JWT for <paramref name="audience"/>.</summary>
    public async Task<bool> VerifyAsync(Uri jwks, string? signature, string audience, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jwks);
        ArgumentException.ThrowIfNullOrEmpty(audience);
        var token = signature?.Trim() ?? "";
        if (token.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            token = token["Bearer ".Length..].Trim();
        }

        if (token.Length is 0 or > MaxTokenLength || !_tokens.CanReadToken(token))
        {
            return false;
        }

        return await _jwks.VerifyAsync(jwks, keys => new ValueTask<bool>(ValidAsync(token, audience, keys)), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose() => _jwks.Dispose();

    private async Task<bool> ValidAsync(string token, string audience, IReadOnlyList<SecurityKey> keys)
    {
        if (keys.Count == 0)
        {
            return false;
        }

        var result = await _tokens.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidAudience = audience,
            ValidateAudience = true,
            RequireAudience = true,
            ValidateIssuer = false,
            IssuerSigningKeys = keys,
            TryAllIssuerSigningKeys = true,
            RequireSignedTokens = true,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            // The lifetime is checked below against the gateway's TimeProvider, not the library's clock.
            ValidateLifetime = false,
        }).ConfigureAwait(false);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt || !jwt.TryGetPayloadValue<long>("exp", out _))
        {
            return false;
        }

        var now = _time.GetUtcNow().UtcDateTime;
        return now <= jwt.ValidTo + ClockSkew && (jwt.ValidFrom == DateTime.MinValue || now >= jwt.ValidFrom - ClockSkew);
    }

    // Only RSA keys: the webhook JWT is RS256. A body that is not a JWKS throws ArgumentException (a failed fetch).
    private static IReadOnlyList<SecurityKey> RsaKeys(byte[] bytes) =>
        new JsonWebKeySet(System.Text.Encoding.UTF8.GetString(bytes)).GetSigningKeys().Where(k => k is RsaSecurityKey || (k as JsonWebKey)?.Kty == "RSA").ToList();
}
