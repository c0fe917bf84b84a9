"""Example user transformers for the tests: functions returning an unfitted scikit-learn transformer."""

from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler


def prep(strategy="median"):
    """As a scikit-learn user writes it: numbers imputed and scaled, text imputed and one-hot encoded."""
    numbers = make_pipeline(SimpleImputer(strategy=strategy), StandardScaler())
    text = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing"), OneHotEncoder(handle_unknown="ignore")
    )
    return ColumnTransformer(
        [
            ("num", numbers, make_column_selector(dtype_include="number")),
            ("cat", text, make_column_selector(dtype_exclude="number")),
        ]
    )


def broken():
    """Fails when it is made, as a user's function may."""
    raise RuntimeError("no encoder for these columns")


def leaves_gaps():
    """Passes numeric columns through, gaps and all."""
    return ColumnTransformer([("num", FunctionTransformer(), make_column_selector(dtype_include="number"))])
