using Microsoft.AspNetCore.Http;
using Reelay.Accounts;
using Reelay.Engine;

namespace Reelay.Server.Auth;

/// <summary>
/// Turns a request's credentials into a <see cref="Caller"/>: the bootstrap admin key, or a stored key (by its hash).
/// Accepts "Authorization: Bearer KEY", a raw key (as ModelVerse clients send), and "X-Api-Key: KEY".
/// </summary>
public sealed class ApiKeyAuthenticator(AdminKey adminKey, ApiKeyService keys)
{
    internal const string CallerItem = "reelay.caller";

    /// <summary>The caller, or null when the request carries no valid key.</summary>
    public async ValueTask<Caller?> AuthenticateAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Items.TryGetValue(CallerItem, out var cached) && cached is Caller known)
        {
            return known;
        }

        var token = PresentedKey(context.Request);
        if (token is null)
        {
            return null;
        }

        Caller? caller = null;

        // A client key verified moments ago is answered without hashing (before the admin check, which hashes until the
        // admin key has been presented once); a stored key's secret is random, so it is never also the admin key.
        if (keys.TryAuthenticateVerified(token, out var verified))
        {
            caller = verified is null ? null : CallerFor(verified);
        }
        else if (adminKey.Matches(token))
        {
            caller = Caller.Admin;
        }
        else if (await keys.AuthenticateAsync(token, context.RequestAborted).ConfigureAwait(false) is { } key)
        {
            caller = CallerFor(key);
        }

        if (caller is not null)
        {
            context.Items[CallerItem] = caller;
        }

        return caller;
    }

    private static Caller CallerFor(ApiKeyRecord key) => new(key.Id, key.Scope == ApiKeyScope.Admin);

    private static string? PresentedKey(HttpRequest request)
    {
        var header = request.Headers.Authorization;
        if (header.Count == 1 && header[0] is { Length: > 0 } value)
        {
            var token = value.AsSpan().Trim();
            if (token.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                token = token[7..].Trim();
            }

            return token.Length > 0 ? token.ToString() : null;
        }

        return request.Headers["X-Api-Key"] is { Count: 1 } apiKey && apiKey[0] is { Length: > 0 } raw ? raw.Trim() : null;
    }
}
