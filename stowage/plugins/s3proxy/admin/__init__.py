"""The proxy's admin JSON routes on the dashboard listener (mounted only while the proxy is on).

``credential_routes`` manages virtual credentials (admin and self-service), ``policy_routes``
manages anonymous bindings and bucket CORS rules, ``merged_views`` lists credentials and bindings
from the store together with those other plugins provide.
"""
