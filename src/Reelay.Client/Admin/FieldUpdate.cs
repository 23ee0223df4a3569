using System.Diagnostics.CodeAnalysis;

namespace Reelay.Client.Admin;

/// <summary>What an update does to one field: leave it (the default), set it, or clear it.</summary>
public enum FieldUpdateKind
{
    /// <summary>The field is not sent; the server leaves it unchanged.</summary>
    Leave,

    /// <summary>The field is sent with a value.</summary>
    Set,

    /// <summary>The field is sent as null; the server clears it (for limits: no limit).</summary>
    Clear,
}

/// <summary>
/// One field of a partial update (PATCH): <see cref="Leave"/> (the default value), <see cref="Set(T)"/> or
/// <see cref="Clear"/>. A value converts implicitly, so <c>BudgetUsd = 5m</c> sets the budget.
/// </summary>
/// <typeparam name="T">The field's type.</typeparam>
[SuppressMessage("Design", "CA1000:Do not declare static members on generic types", Justification = "FieldUpdate<int>.Clear reads as intended, as Nullable-like types do; FieldUpdate.Set infers T.")]
public readonly struct FieldUpdate<T> : IEquatable<FieldUpdate<T>>
{
    private FieldUpdate(FieldUpdateKind kind, T? value)
    {
        Kind = kind;
        Value = value;
    }

    /// <summary>Leaves the field unchanged (not sent).</summary>
    public static FieldUpdate<T> Leave => default;

    /// <summary>Clears the field (sent as null).</summary>
    public static FieldUpdate<T> Clear => new(FieldUpdateKind.Clear, default);

    /// <summary>What the update does.</summary>
    public FieldUpdateKind Kind { get; }

    /// <summary>The new value when <see cref="Kind"/> is <see cref="FieldUpdateKind.Set"/>, otherwise default.</summary>
    public T? Value { get; }

    /// <summary>Sets the field to <paramref name="value"/>.</summary>
    /// <param name="value">The new value; must not be null (use <see cref="Clear"/>).</param>
    /// <returns>The update.</returns>
    public static FieldUpdate<T> Set(T value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(FieldUpdateKind.Set, value);
    }

    /// <summary>Sets the field to <paramref name="value"/>.</summary>
    /// <param name="value">The new value.</param>
    public static implicit operator FieldUpdate<T>(T value) => Set(value);

    /// <summary>Whether two updates are equal.</summary>
    /// <param name="left">One update.</param>
    /// <param name="right">The other.</param>
    public static bool operator ==(FieldUpdate<T> left, FieldUpdate<T> right) => left.Equals(right);

    /// <summary>Whether two updates differ.</summary>
    /// <param name="left">One update.</param>
    /// <param name="right">The other.</param>
    public static bool operator !=(FieldUpdate<T> left, FieldUpdate<T> right) => !left.Equals(right);

    /// <summary>Sets the field to <paramref name="value"/>; the named alternative to the implicit conversion.</summary>
    /// <param name="value">The new value.</param>
    /// <returns>The update.</returns>
    public static FieldUpdate<T> FromValue(T value) => Set(value);

    /// <inheritdoc/>
    public bool Equals(FieldUpdate<T> other) => Kind == other.Kind && EqualityComparer<T?>.Default.Equals(Value, other.Value);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is FieldUpdate<T> other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Kind, Value);

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        FieldUpdateKind.Set => $"set {Value}",
        FieldUpdateKind.Clear => "clear",
        _ => "leave",
    };
}

/// <summary>Builds <see cref="FieldUpdate{T}"/> values with the type inferred.</summary>
public static class FieldUpdate
{
    /// <summary>Sets a field to <paramref name="value"/>.</summary>
    /// <typeparam name="T">The field's type.</typeparam>
    /// <param name="value">The new value.</param>
    /// <returns>The update.</returns>
    public static FieldUpdate<T> Set<T>(T value) => FieldUpdate<T>.Set(value);

    /// <summary>Clears a field.</summary>
    /// <typeparam name="T">The field's type.</typeparam>
    /// <returns>The update.</returns>
    public static FieldUpdate<T> Clear<T>() => FieldUpdate<T>.Clear;
}
