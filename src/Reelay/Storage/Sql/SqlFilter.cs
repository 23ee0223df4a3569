using System.Data.Common;
using System.Text;

namespace Reelay.Storage.Sql;

/// <summary>
/// A query with optional conditions: each condition joins the WHERE with its parameter only when its value is given, so
/// the SQL text and the parameters cannot disagree.
/// </summary>
internal sealed class SqlFilter(string select)
{
    private readonly StringBuilder _sql = new(select);
    private readonly List<(string Name, object Value)> _values = [];

    /// <summary>Adds <c>AND <paramref name="condition"/></c> and its parameter <paramref name="name"/> when <paramref name="value"/> is not null.</summary>
    public SqlFilter And(string condition, string name, object? value)
    {
        if (value is not null)
        {
            _sql.Append(" AND ").Append(condition);
            _values.Add((name, value));
        }

        return this;
    }

    /// <summary>The SQL so far, then <paramref name="tail"/> (ORDER BY, LIMIT…).</summary>
    public string Sql(string tail) => _sql.Append(' ').Append(tail).ToString();

    /// <summary>Binds the parameters of the conditions that were added.</summary>
    public void Bind(DbCommand command)
    {
        foreach (var (name, value) in _values)
        {
            command.Bind(name, value);
        }
    }
}
