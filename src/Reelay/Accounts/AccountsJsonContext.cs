using System.Text.Json.Serialization;

namespace Reelay.Accounts;

/// <summary>Source-generated JSON for what the account store keeps as text.</summary>
[JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class AccountsJsonContext : JsonSerializerContext;
