using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace Reelay.Server.Callbacks;

/// <summary>
/// Verifies fal's webhook signatures as fal documents them (provider-apis-live.md §3.9): the message
/// <c>request_id \n user_id \n timestamp \n hex(sha256(raw body))</c>, signed with ED25519; the signature (hex) in
/// <c>X-Fal-Webhook-Signature</c>, the parts in <c>X-Fal-Webhook-Request-Id</c>, <c>-User-Id</c> and <c>-Timestamp</c>
/// (unix seconds, at most <see cref="MaxSkew"/> from now). It verifies against any OKP/Ed25519 key of the JWKS at the
/// instance's JwksUrl, fetched once and kept for <see cref="CacheFor"/> (fetched again, at most once a minute, when no key
/// verifies: fal may have rotated its keys). ED25519 comes from BouncyCastle: .NET has no Ed25519 of its own.
/// </summary>
public sealed class FalWebhookVerifier : IDisposable
{
    /// <summary>fal's documented JWKS.</summary>
    public const string DefaultJwksUrl = "https://rest.alpha.fal.ai/.well-known/jwks.json";

    /// <summary>The largest allowed distance between the signed timestamp and now.</summary>
    public static readonly TimeSpan MaxSkew = TimeSpan.FromMinutes(5);

    /// <summary>How long fetched keys are used.</summary>
    public static readonly TimeSpan CacheFor = JwksKeyCache<Ed25519PublicKeyParameters>.CacheFor;

    private readonly TimeProvider _time;
    private readonly JwksKeyCache<Ed25519PublicKeyParameters> _jwks;

    /// <summary>Creates the verifier.</summary>
    public FalWebhookVerifier(TimeProvider time)
    {
        _time = time;
        _jwks = new JwksKeyCache<Ed25519PublicKeyParameters>(time, Ed25519Keys);
    }

    /// <summary>True when the headers carry a valid, fresh fal signature of <paramref name="body"/>.</summary>
    public async Task<bool> VerifyAsync(Uri jwks, IHeaderDictionary headers, byte[] body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jwks);
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(body);
        var requestId = headers["X-Fal-Webhook-Request-Id"].ToString();
        var userId = headers["X-Fal-Webhook-User-Id"].ToString();
        var timestamp = headers["X-Fal-Webhook-Timestamp"].ToString();
        var signatureHex = headers["X-Fal-Webhook-Signature"].ToString();
        if (requestId.Length is 0 or > 200 || userId.Length > 200 || signatureHex.Length != 128
            || !long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return false;
        }

        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        if (Math.Abs(now - seconds) > MaxSkew.TotalSeconds)
        {
            return false;
        }

        byte[] signature;
        try
        {
            signature = Convert.FromHexString(signatureHex);
        }
        catch (FormatException)
        {
            return false;
        }

        var message = Encoding.UTF8.GetBytes($"{requestId}\n{userId}\n{timestamp}\n{Convert.ToHexStringLower(SHA256.HashData(body))}");
        return await _jwks.VerifyAsync(jwks, keys => ValueTask.FromResult(Verifies(keys, message, signature)), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose() => _jwks.Dispose();

    private static bool Verifies(IReadOnlyList<Ed25519PublicKeyParameters> keys, byte[] message, byte[] signature)
    {
        foreach (var key in keys)
        {
            var signer = new Ed25519Signer();
            signer.Init(false, key);
            signer.BlockUpdate(message, 0, message.Length);
            if (signer.VerifySignature(signature))
            {
                return true;
            }
        }

        return false;
    }

    // The OKP/Ed25519 keys of a JWKS body; other keys are skipped.
    private static IReadOnlyList<Ed25519PublicKeyParameters> Ed25519Keys(byte[] bytes)
    {
        using var document = JsonDocument.Parse(bytes);
        var keys = new List<Ed25519PublicKeyParameters>();
        if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("keys", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var key in list.EnumerateArray())
            {
                if (key.ValueKind == JsonValueKind.Object
                    && key.TryGetProperty("kty", out var kty) && kty.ValueKind == JsonValueKind.String && kty.GetString() == "OKP"
                    && key.TryGetProperty("crv", out var crv) && crv.ValueKind == JsonValueKind.String && crv.GetString() == "Ed25519"
                    && key.TryGetProperty("x", out var x) && x.ValueKind == JsonValueKind.String
                    && FromBase64Url(x.GetString()!) is { Length: 32 } raw)
                {
                    keys.Add(new Ed25519PublicKeyParameters(raw, 0));
                }
            }
        }

        return keys;
    }

    private static byte[]? FromBase64Url(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        padded += (padded.Length % 4) switch { 2 => "==", 3 => "=", _ => "" };
        try
        {
            return Convert.FromBase64String(padded);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
