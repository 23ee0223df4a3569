using System.Security.Cryptography;
using System.Text;

namespace Reelay.Webhooks;

/// <summary>
/// Standard Webhooks signatures: <c>v1,base64(HMAC-SHA256(secret bytes, "{webhook-id}.{webhook-timestamp}.{body}"))</c>,
/// where a secret is <c>whsec_</c> followed by the base64 of its bytes.
/// </summary>
public static class WebhookSigner
{
    /// <summary>The prefix of every secret.</summary>
    public const string SecretPrefix = "whsec_";

    /// <summary>A new secret: <c>whsec_</c> and the base64 of 32 random bytes.</summary>
    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>The key bytes of a <c>whsec_</c> secret.</summary>
    /// <exception cref="FormatException">The secret is not <c>whsec_</c> followed by base64.</exception>
    public static byte[] SecretBytes(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var encoded = secret.StartsWith(SecretPrefix, StringComparison.Ordinal) ? secret[SecretPrefix.Length..] : secret;
        return Convert.FromBase64String(encoded);
    }

    /// <summary>One signature, <c>v1,&lt;base64&gt;</c>, of <paramref name="body"/> sent as <paramref name="messageId"/> at <paramref name="timestamp"/> (unix seconds).</summary>
    public static string Sign(string secret, string messageId, long timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(messageId);
        var prefix = Encoding.UTF8.GetBytes($"{messageId}.{timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");
        var content = new byte[prefix.Length + body.Length];
        prefix.CopyTo(content, 0);
        body.CopyTo(content.AsSpan(prefix.Length));
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(SecretBytes(secret), content));
    }

    /// <summary>The webhook-signature header value: one signature per secret (current first), separated by spaces.</summary>
    public static string SignatureHeader(IEnumerable<string> secrets, string messageId, long timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        var signatures = new List<string>(2);
        foreach (var secret in secrets)
        {
            signatures.Add(Sign(secret, messageId, timestamp, body));
        }

        return string.Join(' ', signatures);
    }

    /// <summary>A new, random webhook-id (<c>msg_</c> and 32 hex digits).</summary>
    public static string NewMessageId() => "msg_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}
